package election

import (
	"context"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Leader describes who leads: the oldest candidate in the line.
type Leader struct {
	Value string           // the value it campaigned with, or last proclaimed
	Token int64            // create revision of the leader's entry: its fencing token
	Key   string           // the entry's etcd key
	Lease clientv3.LeaseID // lease of the leader's session
}

// Leader returns the current leader, as of one linearizable read of the
// line, or ErrNoLeader when no candidate is in the line. It writes nothing.
// If ctx ends it returns ctx's error.
func (e *Election) Leader(ctx context.Context) (Leader, error) {
	if e == nil || e.q == nil {
		return Leader{}, ErrUninitialized
	}
	entries, err := e.q.List(ctx)
	if err != nil {
		return Leader{}, err
	}
	// The line also holds other kinds of entry under the name; candidates
	// are its exclusive entries.
	prefix := e.layout.ExclusivePrefix()
	for _, en := range entries {
		if strings.HasPrefix(en.Key, prefix) {
			return Leader{Value: en.Value, Token: en.Rev, Key: en.Key, Lease: en.Lease}, nil
		}
	}
	return Leader{}, ErrNoLeader
}
