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

	// Gap is set only on a Leader sent by Observe or ObserveWith: etcd
	// had compacted the history the observer needed, so terms or values
	// between the previous report and this one may be missing. This one
	// is the leader (or the vacant line) as of a read.
	Gap bool
}

// Vacant reports whether l stands for a line without a leader, as
// ObserveWith sends with ObserveOptions.Empty.
func (l Leader) Vacant() bool { return l.Key == "" }

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
