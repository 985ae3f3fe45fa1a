package main

import (
	"strings"
	"unicode/utf8"
)

// maxValueLen bounds the value stored in an entry: it is read by every ls
// and kept in etcd for as long as the entry lives, and a command line can
// be a whole script.
const maxValueLen = 256

// identity is the value stored in an entry: "<host>/<pid> <command line>",
// so that ls tells who holds and who waits, and what for.
func identity(base string, argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = shellQuote(a)
	}
	return truncate(base+" "+strings.Join(quoted, " "), maxValueLen)
}

// shellQuote quotes s for a POSIX shell when it needs quoting, so that the
// command line in ls reads as it was typed.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, needsQuote) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func needsQuote(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	case strings.ContainsRune("@%+=:,./_-", r):
		return false
	}
	return true
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut
// with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "..."
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
