package election_test

import (
	"fmt"
	"slices"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/election"
)

// cand is the line entry of candidate who, joined at revision token.
func cand(who string, token int64) election.Leader {
	return election.Leader{Value: who, Token: token, Key: fmt.Sprintf("/e/.x/%s-%d", who, token), Lease: 7}
}

func put(l election.Leader, rev int64) *clientv3.Event {
	return &clientv3.Event{Type: mvccpb.PUT, Kv: &mvccpb.KeyValue{
		Key: []byte(l.Key), Value: []byte(l.Value), CreateRevision: l.Token, ModRevision: rev, Lease: int64(l.Lease)}}
}

func del(l election.Leader, rev int64) *clientv3.Event {
	return &clientv3.Event{Type: mvccpb.DELETE, Kv: &mvccpb.KeyValue{Key: []byte(l.Key), ModRevision: rev}}
}

func withValue(l election.Leader, v string) election.Leader { l.Value = v; return l }

func TestApply(t *testing.T) {
	a, b, c := cand("a", 5), cand("b", 6), cand("c", 7)
	a2 := cand("a", 10) // a, rejoined at the tail by Rotate
	recreated := a
	recreated.Token = 11  // a's key, written anew
	early := cand("j", 6) // joined older than c: one of several lines joined at once
	for _, tc := range []struct {
		name    string
		line    []election.Leader
		evs     []*clientv3.Event
		want    []election.Leader
		changed bool
	}{
		{"first candidate", nil, []*clientv3.Event{put(a, 5)}, []election.Leader{a}, true},
		{"candidate joins behind the leader", []election.Leader{a}, []*clientv3.Event{put(b, 6)}, []election.Leader{a, b}, false},
		{"leader resigns", []election.Leader{a, b, c}, []*clientv3.Event{del(a, 8)}, []election.Leader{b, c}, true},
		{"waiting candidate leaves", []election.Leader{a, b, c}, []*clientv3.Event{del(b, 8)}, []election.Leader{a, c}, false},
		{"last candidate goes", []election.Leader{a}, []*clientv3.Event{del(a, 8)}, nil, true},
		{"rotate: delete and rejoin in one revision", []election.Leader{a, b, c},
			[]*clientv3.Event{del(a, 10), put(a2, 10)}, []election.Leader{b, c, a2}, true},
		{"rotate alone: leads again under a new token", []election.Leader{a},
			[]*clientv3.Event{del(a, 10), put(a2, 10)}, []election.Leader{a2}, true},
		{"leader proclaims", []election.Leader{a, b}, []*clientv3.Event{put(withValue(a, "a:v2"), 9)},
			[]election.Leader{withValue(a, "a:v2"), b}, true},
		{"leader proclaims the same value", []election.Leader{a, b}, []*clientv3.Event{put(a, 9)}, []election.Leader{a, b}, false},
		{"waiting candidate's value changes", []election.Leader{a, b}, []*clientv3.Event{put(withValue(b, "b:v2"), 9)},
			[]election.Leader{a, withValue(b, "b:v2")}, false},
		{"unknown key deleted", []election.Leader{a}, []*clientv3.Event{del(c, 9)}, []election.Leader{a}, false},
		{"key re-created: a new entry at the tail", []election.Leader{a, b}, []*clientv3.Event{put(recreated, 11)},
			[]election.Leader{b, recreated}, true},
		{"older entry put: kept in create-revision order", []election.Leader{a, c}, []*clientv3.Event{put(early, 9)},
			[]election.Leader{a, early, c}, false},
		{"empty batch", []election.Leader{a}, nil, []election.Leader{a}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.line)
			got, changed := election.Apply(tc.line, tc.evs)
			if !slices.Equal(got, tc.want) || changed != tc.changed {
				t.Errorf("Apply = %v, %v; want %v, %v", got, changed, tc.want, tc.changed)
			}
			if !slices.Equal(tc.line, before) {
				t.Errorf("Apply changed its input: %v, was %v", tc.line, before)
			}
		})
	}
}

func TestByRevision(t *testing.T) {
	a, b, c := cand("a", 5), cand("b", 6), cand("c", 7)
	evs := []*clientv3.Event{del(a, 8), put(cand("a", 8), 8), put(b, 9), del(c, 10), del(b, 11), put(cand("b", 11), 11)}
	var sizes []int
	for _, run := range election.ByRevision(evs) {
		for _, ev := range run {
			if ev.Kv.ModRevision != run[0].Kv.ModRevision {
				t.Fatalf("run of revision %d holds an event of %d", run[0].Kv.ModRevision, ev.Kv.ModRevision)
			}
		}
		sizes = append(sizes, len(run))
	}
	if want := []int{2, 1, 1, 2}; !slices.Equal(sizes, want) {
		t.Errorf("runs of %v events, want %v", sizes, want)
	}
	if runs := election.ByRevision(nil); len(runs) != 0 {
		t.Errorf("ByRevision(nil) = %v", runs)
	}
}
