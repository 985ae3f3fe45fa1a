package fairlockotel_test

import (
	"testing"

	"github.com/fairlock/fairlock/queue"
)

func TestYieldRequestsCounted(t *testing.T) {
	a, reader, _ := setup(t)
	h := a.Hooks()
	if h.YieldRequested == nil {
		t.Fatal("Hooks().YieldRequested is nil: yield requests would go uncounted")
	}
	h.YieldRequested(queue.YieldInfo{Name: "/a", Kind: queue.Permit, Reason: "resize"})
	h.YieldRequested(queue.YieldInfo{Name: "/a", Kind: queue.Permit, Reason: "resize"})
	p, ok := collect(t, reader)["fairlock.yield_requests"]["fairlock.kind=permit,fairlock.lock=/a"]
	if !ok || p.count != 2 {
		t.Errorf("fairlock.yield_requests{permit,/a} = %+v (found %v), want count 2", p, ok)
	}
}
