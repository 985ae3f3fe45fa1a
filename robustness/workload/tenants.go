package workload

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fairlock/fairlock"
	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/queue"
	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/semaphore"
)

// The tenants workload's locks.
const (
	tenantsMutex = Prefix + "tenants/mutex"
	tenantsSem   = Prefix + "tenants/sem"
)

// tenants: on the mutex, a tenant of share 2 with four callers against one
// of share 1 with two; on the semaphore (limit 3, weights 1 or 2), three
// tenants of shares 2, 1 and 1 with three, two and one callers. Each
// tenant but the last has more callers than its share, so that its
// admission line is rarely empty and the fairness checker sees tenants
// wait side by side.
var tenants = []Tenant{
	{Name: "a", Share: 2, Callers: 4, Lock: tenantsMutex},
	{Name: "b", Share: 1, Callers: 2, Lock: tenantsMutex},
	{Name: "c", Share: 2, Callers: 3, Lock: tenantsSem, Limit: 3},
	{Name: "d", Share: 1, Callers: 2, Lock: tenantsSem, Limit: 3},
	{Name: "e", Share: 1, Callers: 1, Lock: tenantsSem, Limit: 3},
}

// Holds of the tenants workload last 100 to 300 ms: a tenant's admitted
// caller that the release could not hand its place (queue/handover.go:
// a guard failed, say) joins the lock's line one or two round trips after
// its admission,
// and a hold much longer than that keeps another tenant from slipping a
// second extra grant in meanwhile (see check's fairness).
const (
	tenantHoldMin = 100 * time.Millisecond
	tenantHoldMax = 300 * time.Millisecond
)

// runTenants: the worker's tenant's callers, each on a session of its own,
// take the tenant's lock (queue.WithTenant) one hold after another, with a
// fenced probe at either end of each hold.
func runTenants(ctx context.Context, w *Worker) error {
	t, ok := w.Spec.TenantOf(w.Name)
	if !ok {
		return fmt.Errorf("fairlock: robustness: worker %s has no tenant", w.Name)
	}
	var wg sync.WaitGroup
	for range t.Callers {
		wg.Go(func() { w.Session(ctx, func(ctx context.Context, c *fairlock.Client) { tenantCaller(ctx, w, c, t) }) })
	}
	wg.Wait()
	return nil
}

func tenantCaller(ctx context.Context, w *Worker, c *fairlock.Client, t Tenant) {
	opts := c.Options(queue.WithTenant(t.Name, t.Share))
	body := func(ctx context.Context, call history.Record, h hold) {
		w.probe(ctx, c, history.Record{Op: call.Op, Lock: call.Lock, Token: h.token}, h.owner)
		Sleep(ctx, w.rnd(tenantHoldMin, tenantHoldMax))
		w.probe(ctx, c, history.Record{Op: call.Op, Lock: call.Lock, Token: h.token}, h.owner)
	}
	if t.Limit == 0 {
		m, err := fairmutex.New(c.Session(), t.Lock, opts...)
		if err != nil {
			w.Rec(history.Record{Kind: history.Fail, Err: err.Error()})
			return
		}
		w.holdLoop(ctx, c, func() (history.Record, acquireFunc) {
			return history.Record{Lock: t.Lock, Mode: "x", Tenant: t.Name}, mutexAcquire(m)
		}, body)
		return
	}
	sem, err := semaphore.New(c.Session(), t.Lock, t.Limit, opts...)
	if err != nil {
		w.Rec(history.Record{Kind: history.Fail, Err: err.Error()})
		return
	}
	w.holdLoop(ctx, c, func() (history.Record, acquireFunc) {
		weight := 1 + w.pick(2)
		return history.Record{Lock: t.Lock, Mode: "p", Weight: weight, Tenant: t.Name}, permitAcquire(sem, weight)
	}, body)
}
