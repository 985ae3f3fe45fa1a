package main

import (
	"io"
	"strings"
	"unicode/utf8"
)

// column is one column of a table whose rows are R: its header, how a row
// fills its cell, and what it may give up to fit a terminal.
type column[R any] struct {
	header string
	cell   func(R) string
	// cut: the cell may be cut at its end (values: host/pid and command
	// line, whose start says the most).
	cut bool
	// optional: the column may be left out (keys, leases: for fairlock rm
	// and debugging, and only useful whole).
	optional bool
}

// Layout of a table: columns two spaces apart; a cell that is cut keeps
// at least minCutWidth characters, the ellipsis that marks the cut
// included: enough for host/pid and the start of a command.
const (
	columnGap   = 2
	minCutWidth = 20
	ellipsis    = "…"
)

// dropped is the width of a column left out.
const dropped = -1

// writeTable writes rows under the columns' headers, each column padded to
// its widest cell. With width > 0 (a terminal's), columns give up what the
// row needs to fit in width (see fitWidths); width 0 prints every column
// whole.
func writeTable[R any](w io.Writer, cols []column[R], rows []R, width int) error {
	cells := make([][]string, 0, len(rows)+1)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.header
	}
	cells = append(cells, header)
	for _, r := range rows {
		line := make([]string, len(cols))
		for i, c := range cols {
			line[i] = c.cell(r)
		}
		cells = append(cells, line)
	}
	natural := make([]int, len(cols))
	cut := make([]bool, len(cols))
	optional := make([]bool, len(cols))
	for i, c := range cols {
		cut[i], optional[i] = c.cut, c.optional
		for _, line := range cells {
			natural[i] = max(natural[i], utf8.RuneCountInString(line[i]))
		}
	}
	widths := natural
	if width > 0 {
		widths = fitWidths(natural, cut, optional, width)
	}
	var b strings.Builder
	for _, line := range cells {
		b.Reset()
		for i, cell := range line {
			if widths[i] == dropped {
				continue
			}
			cell = cutEnd(cell, widths[i])
			b.WriteString(cell + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+columnGap))
		}
		if _, err := io.WriteString(w, strings.TrimRight(b.String(), " ")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// fitWidths returns the width of each column so that a row, columns
// columnGap apart, fits in width, or dropped for a column left out. First
// the columns that may be cut give up width, the last first, none below
// minCutWidth; if that is not enough, the optional columns are left out,
// the last first, and the others get their width back. When even that is
// too wide, the row is as narrow as it can be and the terminal wraps it.
func fitWidths(natural []int, cut, optional []bool, width int) []int {
	var widths []int
	for drop := 0; ; drop++ {
		widths = append(widths[:0], natural...)
		left := drop
		for i := len(widths) - 1; i >= 0 && left > 0; i-- {
			if optional[i] {
				widths[i] = dropped
				left--
			}
		}
		if shrink(widths, cut, width) || left > 0 {
			return widths
		}
	}
}

// shrink cuts the columns that may be cut, the last first, until the row
// fits in width; it reports whether it does.
func shrink(widths []int, cut []bool, width int) bool {
	total := -columnGap
	for _, w := range widths {
		if w != dropped {
			total += w + columnGap
		}
	}
	for i := len(widths) - 1; i >= 0 && total > width; i-- {
		if !cut[i] || widths[i] <= minCutWidth {
			continue
		}
		give := min(total-width, widths[i]-minCutWidth)
		widths[i] -= give
		total -= give
	}
	return total <= width
}

// cutEnd cuts s to at most width characters, marking the cut with an
// ellipsis.
func cutEnd(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	return string([]rune(s)[:max(width-1, 0)]) + ellipsis
}
