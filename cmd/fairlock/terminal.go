package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// terminalSize reports whether f is a terminal, and its width and height
// (0 when the terminal does not say, as a new pseudo-terminal may not).
// ls fits its rows to the width only on a terminal: piped into a script,
// a log or grep, rows stay whole.
func terminalSize(f *os.File) (cols, rows int, ok bool) {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0, 0, false
	}
	return int(ws.Col), int(ws.Row), true
}
