package watchmux_test

import (
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/fairlock/fairlock/internal/watchmux"
)

func TestHolds(t *testing.T) {
	kv := func(create int64) *mvccpb.KeyValue {
		return &mvccpb.KeyValue{Key: []byte("/k"), CreateRevision: create}
	}
	for _, tc := range []struct {
		name string
		kvs  []*mvccpb.KeyValue
		rev  int64
		want bool
	}{
		{"present with its revision", []*mvccpb.KeyValue{kv(7)}, 7, true},
		{"absent", nil, 7, false},
		{"made again since", []*mvccpb.KeyValue{kv(9)}, 7, false},
		{"older than the entry (cannot be the entry)", []*mvccpb.KeyValue{kv(5)}, 7, false},
		{"more than one key: not a read of one key", []*mvccpb.KeyValue{kv(7), kv(7)}, 7, false},
	} {
		if got := watchmux.Holds(tc.kvs, tc.rev); got != tc.want {
			t.Errorf("%s: holds = %v, want %v", tc.name, got, tc.want)
		}
	}
}
