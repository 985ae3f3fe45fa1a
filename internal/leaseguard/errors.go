package leaseguard

import "errors"

// Errors returned by this package, matched with errors.Is.
var (
	// ErrGone reports that the lease is known gone (a keep-alive was
	// answered with no TTL left, or lease not found) or that the session
	// ended.
	ErrGone = errors.New("leaseguard: lease gone or session ended")
)
