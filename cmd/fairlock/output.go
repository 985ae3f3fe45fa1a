package main

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// writeJSON writes v as indented JSON, for the --json of ls and yield.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // values are command lines: keep their < > & readable
	return enc.Encode(v)
}

// printable quotes s when it holds bytes that would break a table row.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\t' }) < 0 {
		return s
	}
	return strconv.Quote(s)
}
