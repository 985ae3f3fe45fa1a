package metriclabel

import (
	"strings"
	"unicode/utf8"
)

// Values of a loss's reason and state labels.
const (
	ReasonExpired = "expired" // the session's lease ended
	ReasonDeleted = "deleted" // the key was deleted by someone else
	StateHeld     = "held"    // the entry held the lock when it was lost
	StateWaiting  = "waiting" // the entry was still waiting
)

// Lock returns the lock label of name: group(name) when group is not nil,
// with bytes that are not UTF-8 replaced by U+FFFD. Exporters expect valid
// UTF-8 (client_golang panics on anything else) and etcd keys need not be.
func Lock(group func(string) string, name string) string {
	if group != nil {
		name = group(name)
	}
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "\uFFFD")
	}
	return name
}

// Loss returns the reason and state labels of a lost entry: expired says
// whether its session's lease ended (else its key was deleted), granted
// whether it held the lock.
func Loss(expired, granted bool) (reason, state string) {
	reason, state = ReasonDeleted, StateWaiting
	if expired {
		reason = ReasonExpired
	}
	if granted {
		state = StateHeld
	}
	return reason, state
}
