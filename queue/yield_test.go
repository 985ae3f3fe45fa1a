package queue_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/fairlock/fairlock/internal/keys"
	"github.com/fairlock/fairlock/queue"
)

func TestYieldValueRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		token  int64
		reason string
	}{{1, ""}, {42, "deploy 1.4"}, {1 << 62, "multi\nline reason with spaces "}} {
		token, reason, ok := queue.DecodeYield([]byte(queue.EncodeYield(tt.token, tt.reason)))
		if !ok || token != tt.token || reason != tt.reason {
			t.Errorf("round trip of %d %q = %d %q %v", tt.token, tt.reason, token, reason, ok)
		}
	}
	for _, bad := range []string{"", "42", "x 1", "-3 no", "0 zero", " 5 lead"} {
		if token, reason, ok := queue.DecodeYield([]byte(bad)); ok {
			t.Errorf("DecodeYield(%q) = %d %q, want refused", bad, token, reason)
		}
	}
}

func TestAttachYieldRequests(t *testing.T) {
	l, err := keys.New("/a")
	if err != nil {
		t.Fatal(err)
	}
	x, s, p := l.Entry("e1", false), l.Entry("e2", true), l.PermitEntry("e3", 2)
	req := func(entry string, value string) *mvccpb.KeyValue {
		k, ok := l.YieldRequest(entry)
		if !ok {
			t.Fatalf("no request key for %q", entry)
		}
		return &mvccpb.KeyValue{Key: []byte(k), Value: []byte(value)}
	}
	type asked struct {
		Requested bool
		Reason    string
	}
	for _, tt := range []struct {
		name     string
		requests []*mvccpb.KeyValue
		want     []asked
	}{
		{"none", nil, []asked{{}, {}, {}}},
		{"own tokens", []*mvccpb.KeyValue{req(x, "10 deploy"), req(p, "30 resize")},
			[]asked{{true, "deploy"}, {}, {true, "resize"}}},
		{"stale token: an earlier entry on the key", []*mvccpb.KeyValue{req(s, "7 old")}, []asked{{}, {}, {}}},
		{"entry gone", []*mvccpb.KeyValue{req(l.Entry("gone", false), "10 x")}, []asked{{}, {}, {}}},
		{"malformed value", []*mvccpb.KeyValue{req(x, "ten deploy")}, []asked{{}, {}, {}}},
		{"not a request key", []*mvccpb.KeyValue{{Key: []byte(x), Value: []byte("10 x")}}, []asked{{}, {}, {}}},
	} {
		entries := []queue.Entry{{Key: x, Rev: 10}, {Key: s, Rev: 20}, {Key: p, Rev: 30}}
		queue.AttachYieldRequests(l, entries, tt.requests)
		var got []asked
		for _, e := range entries {
			got = append(got, asked{e.YieldRequested, e.YieldReason})
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.name, diff)
		}
	}
}
