package fairlockprom_test

import (
	"testing"

	fairlockprom "github.com/fairlock/fairlock/prometheus"
	"github.com/fairlock/fairlock/queue"
)

func TestYieldRequestsCounted(t *testing.T) {
	c := fairlockprom.New()
	h := c.Hooks()
	if h.YieldRequested == nil {
		t.Fatal("Hooks().YieldRequested is nil: yield requests would go uncounted")
	}
	h.YieldRequested(queue.YieldInfo{Name: "/a", Kind: queue.Exclusive, Reason: "deploy"})
	h.YieldRequested(queue.YieldInfo{Name: "/a", Kind: queue.Shared, Reason: "deploy"})
	h.YieldRequested(queue.YieldInfo{Name: "/a", Kind: queue.Shared, Reason: "again"})
	if v := value(t, c, "fairlock_yield_requests_total", "/a", "exclusive"); v != 1 {
		t.Errorf("exclusive yield requests = %v, want 1", v)
	}
	if v := value(t, c, "fairlock_yield_requests_total", "/a", "shared"); v != 2 {
		t.Errorf("shared yield requests = %v, want 2", v)
	}
}
