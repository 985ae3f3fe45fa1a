package election_test

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/election"
)

func TestMayHaveMissed(t *testing.T) {
	a, b := cand("a", 5), cand("b", 6)
	a2 := cand("a", 10) // a, rejoined by Rotate
	for _, tc := range []struct {
		name    string
		line    []election.Leader // as of rev 8
		after   []election.Leader
		headMod int64
		want    bool
	}{
		{"same leader, untouched", []election.Leader{a, b}, []election.Leader{a}, 5, false},
		{"same leader, untouched since rev", []election.Leader{a}, []election.Leader{a, a2}, 8, false},
		{"same leader, written after rev", []election.Leader{a}, []election.Leader{a}, 9, true},
		{"value changed", []election.Leader{a}, []election.Leader{withValue(a, "x")}, 9, true},
		{"another leader", []election.Leader{a, b}, []election.Leader{b}, 6, true},
		{"rotated back", []election.Leader{a, b}, []election.Leader{a2, b}, 10, true},
		{"was empty, still empty", nil, nil, 0, true},
		{"was empty, now led", nil, []election.Leader{a2}, 10, true},
		{"now empty", []election.Leader{a}, nil, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := election.MayHaveMissed(tc.line, 8, tc.after, tc.headMod); got != tc.want {
				t.Fatalf("MayHaveMissed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWatchEnded(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp clientv3.WatchResponse
		ok   bool
		want any
	}{
		{"events", clientv3.WatchResponse{Events: []*clientv3.Event{put(cand("a", 5), 5)}}, true, election.WatchGoesOn},
		{"created", clientv3.WatchResponse{Created: true}, true, election.WatchGoesOn},
		{"closed", clientv3.WatchResponse{}, false, election.WatchBroken},
		{"compacted", clientv3.WatchResponse{Canceled: true, CompactRevision: 7}, true, election.WatchCompacted},
		{"cancelled", clientv3.WatchResponse{Canceled: true, CancelReason: "etcdserver: no leader"}, true, election.WatchBroken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := election.WatchEnded(tc.resp, tc.ok); got != tc.want {
				t.Fatalf("WatchEnded = %v, want %v", got, tc.want)
			}
		})
	}
}
