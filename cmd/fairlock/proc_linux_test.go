package main

import (
	"slices"
	"testing"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want procInfo
		ok   bool
	}{
		{"42 (sh) S 1 42 42 0 -1", procInfo{42, 1, 42, 'S'}, true},
		{"7 (a (b) c) Z 3 5 5 0", procInfo{7, 3, 5, 'Z'}, true},
		{"9 (x y) R 2 9", procInfo{9, 2, 9, 'R'}, true},
		{"garbage", procInfo{}, false},
		{"1 (init) S", procInfo{}, false},
	} {
		got, ok := parseStat([]byte(tc.in))
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTreeOf(t *testing.T) {
	const self, pgid, first = 100, 200, 200
	for _, tc := range []struct {
		name             string
		procs            []procInfo
		alive            bool
		adopted, zombies []int
	}{
		{"nothing", nil, false, nil, nil},
		{"the group's first process", []procInfo{{first, self, pgid, 'S'}}, true, nil, nil},
		{"a group of zombies only is empty", []procInfo{{201, self, pgid, 'Z'}, {202, 1, pgid, 'Z'}}, false, nil, []int{201}},
		{"the first process, a zombie, is not reaped here", []procInfo{{first, self, pgid, 'Z'}}, false, nil, nil},
		{"a stopped member is alive", []procInfo{{203, 1, pgid, 'T'}}, true, nil, nil},
		{"an orphan that left the group, adopted", []procInfo{{300, self, 300, 'S'}}, true, []int{300}, nil},
		{"strangers do not count", []procInfo{{400, 1, 400, 'S'}, {401, 5, 401, 'Z'}}, false, nil, nil},
	} {
		alive, adopted, zombies := treeOf(tc.procs, self, pgid, []int{first})
		if alive != tc.alive || !slices.Equal(adopted, tc.adopted) || !slices.Equal(zombies, tc.zombies) {
			t.Errorf("%s: treeOf = %v, %v, %v; want %v, %v, %v", tc.name, alive, adopted, zombies, tc.alive, tc.adopted, tc.zombies)
		}
	}
}
