// Package etcderr sorts the errors of etcd's client by what a retry can do
// about them: the one place that tells a passing failure (no leader, a lost
// connection) from a refusal that no retry mends (permission denied,
// authentication failed). Package queue's retry policy and every loop of
// fairlock that would otherwise try again forever (watches, the cleanup
// worker, the own-key check, the lease guard) ask it.
package etcderr

import (
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Class is what a retry can do about an error.
type Class uint8

const (
	// Other: neither of the others; the caller decides (a context's end,
	// a compaction, a lease not found, a request etcd finds malformed).
	Other Class = iota
	// Transient: etcd or gRPC said Unavailable (no leader, a lost
	// connection, a member stopping, a request timed out): try again.
	Transient
	// Refused: etcd refuses this user what was asked, and asking again
	// changes nothing: permission denied, authentication failed, an auth
	// token refused after etcd's client re-authenticated, the user (or
	// its role) gone or not given. etcd's client already re-authenticates
	// and retries a unary call once when the token is stale, so such an
	// error reaching fairlock is final; a watch, whose stream keeps the
	// token it was opened with, is worth one more try on a new stream (see
	// the callers).
	Refused
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Refused:
		return "refused"
	}
	return "other"
}

// refusals are etcd's client's error values for its refusals, by their
// description: the same text whether it reaches the client as a gRPC
// status, as the client's own error value, or as the cancel reason of a
// watch (which is the status's full text, "rpc error: code =
// PermissionDenied desc = ...").
var refusals = func() map[string]error {
	m := map[string]error{}
	for _, err := range []error{rpctypes.ErrPermissionDenied, rpctypes.ErrAuthFailed, rpctypes.ErrInvalidAuthToken,
		rpctypes.ErrAuthOldRevision, rpctypes.ErrUserNotFound, rpctypes.ErrRoleNotFound, rpctypes.ErrUserEmpty,
		rpctypes.ErrRoleNotGranted} {
		m[err.Error()] = err
	}
	return m
}()

// Classify tells what a retry can do about err, looking at err and at every
// error it wraps; nil is Other.
func Classify(err error) Class {
	if err == nil {
		return Other
	}
	if c := classifyOne(err); c != Other {
		return c
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return Classify(u.Unwrap())
	case interface{ Unwrap() []error }:
		class := Other
		for _, e := range u.Unwrap() {
			switch Classify(e) {
			case Refused:
				return Refused // a refusal anywhere decides
			case Transient:
				class = Transient
			}
		}
		return class
	}
	return Other
}

// IsRefused reports whether no retry mends err: Classify(err) == Refused.
func IsRefused(err error) bool { return Classify(err) == Refused }

// IsTransient reports whether err is worth retrying: Classify(err) ==
// Transient.
func IsTransient(err error) bool { return Classify(err) == Transient }

// Refusal returns the value of etcd's client that a refusal in err stands
// for (rpctypes.ErrPermissionDenied, rpctypes.ErrAuthFailed, ...), so that
// errors.Is matches it whichever way it came (a watch's refusal arrives as
// text); nil when err holds none of them.
func Refusal(err error) error {
	for err != nil {
		desc := err.Error()
		if s, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
			desc = s.GRPCStatus().Message()
		}
		if r := refusals[innermost(desc)]; r != nil {
			return r
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if r := Refusal(e); r != nil {
					return r
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// classifyOne classifies err's own layer, not what it wraps (Classify
// walks the chain), hence the type switch rather than errors.As.
func classifyOne(err error) Class {
	code, desc := codes.Unknown, err.Error()
	switch e := err.(type) {
	case rpctypes.EtcdError:
		code = e.Code()
	case interface{ GRPCStatus() *status.Status }:
		s := e.GRPCStatus()
		code, desc = s.Code(), s.Message()
	}
	if refusals[innermost(desc)] != nil {
		return Refused
	}
	switch code {
	case codes.Unavailable:
		return Transient
	case codes.PermissionDenied, codes.Unauthenticated:
		return Refused
	}
	return Other
}

// innermost strips the "rpc error: code = X desc = " prefixes a status's
// text gets each time it is turned into a string and wrapped again (a
// watch's cancel reason is one, inside a status of its own).
func innermost(desc string) string {
	for {
		rest, ok := strings.CutPrefix(desc, "rpc error: code = ")
		if !ok {
			return desc
		}
		_, after, found := strings.Cut(rest, " desc = ")
		if !found {
			return desc
		}
		desc = after
	}
}
