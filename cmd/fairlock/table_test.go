package main

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFitWidths(t *testing.T) {
	// PLACE STATE LEASE KEY VALUE, as ls has them: LEASE and KEY may be
	// left out, VALUE cut.
	natural := []int{5, 7, 15, 40, 60}
	cut := []bool{false, false, false, false, true}
	optional := []bool{false, false, true, true, false}
	const d = dropped
	for _, tc := range []struct {
		name  string
		width int
		want  []int
	}{
		{"everything fits", 200, []int{5, 7, 15, 40, 60}},
		{"exactly fits", 5 + 7 + 15 + 40 + 60 + 4*columnGap, []int{5, 7, 15, 40, 60}},
		{"value cut", 120, []int{5, 7, 15, 40, 45}},
		{"value cut to its least", 95, []int{5, 7, 15, 40, 20}},
		{"key left out, value whole again", 94, []int{5, 7, 15, d, 60}},
		{"key left out, value cut less than with it", 90, []int{5, 7, 15, d, 57}},
		{"lease left out too", 50, []int{5, 7, d, d, 50 - 5 - 7 - 2*columnGap}},
		{"nothing more to give: as narrow as can be", 20, []int{5, 7, d, d, minCutWidth}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fitWidths(natural, cut, optional, tc.width)
			if !slices.Equal(got, tc.want) {
				t.Errorf("fitWidths(width %d) = %v, want %v", tc.width, got, tc.want)
			}
		})
	}
}

func TestCutEnd(t *testing.T) {
	for _, tc := range []struct {
		s     string
		width int
		want  string
	}{
		{"host/1 make", 20, "host/1 make"},
		{"host/1 make deploy", 10, "host/1 ma…"},
		{"héllo wörld", 6, "héllo…"},
		{"ab", 2, "ab"},
	} {
		if got := cutEnd(tc.s, tc.width); got != tc.want {
			t.Errorf("cutEnd(%q, %d) = %q, want %q", tc.s, tc.width, got, tc.want)
		}
	}
}

type row struct{ a, b, c string }

func TestWriteTable(t *testing.T) {
	cols := []column[row]{
		{header: "A", cell: func(r row) string { return r.a }},
		{header: "OPT", cell: func(r row) string { return r.b }, optional: true},
		{header: "VALUE", cell: func(r row) string { return r.c }, cut: true},
	}
	rows := []row{{"1", "key-one", strings.Repeat("v", 50)}, {"22", "k2", "short"}}
	var whole strings.Builder
	if err := writeTable(&whole, cols, rows, 0); err != nil {
		t.Fatal(err)
	}
	want := "A   OPT      VALUE\n" +
		"1   key-one  " + strings.Repeat("v", 50) + "\n" +
		"22  k2       short\n"
	if whole.String() != want {
		t.Errorf("width 0:\n%s\nwant:\n%s", whole.String(), want)
	}
	for _, width := range []int{60, 40, 24} {
		var b strings.Builder
		if err := writeTable(&b, cols, rows, width); err != nil {
			t.Fatal(err)
		}
		out := strings.TrimSuffix(b.String(), "\n")
		for _, line := range strings.Split(out, "\n") {
			if n := utf8.RuneCountInString(line); n > width {
				t.Errorf("width %d: %q is %d wide", width, line, n)
			}
		}
		if !strings.Contains(out, ellipsis) || !strings.Contains(out, "short") {
			t.Errorf("width %d: want the long value cut, the short one whole:\n%s", width, out)
		}
		if keep := width >= 3+2+7+2+minCutWidth; strings.Contains(out, "key-one") != keep {
			t.Errorf("width %d: optional column kept %v, want %v:\n%s", width, !keep, keep, out)
		}
	}
}
