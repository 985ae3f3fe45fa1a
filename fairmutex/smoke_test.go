package fairmutex_test

import (
	"context"
	"sync"
	"testing"

	"github.com/fairlock/fairlock/fairmutex"
	"github.com/fairlock/fairlock/internal/etcdtest"
)

func TestSmoke(t *testing.T) {
	c := etcdtest.Cluster(t, 3)
	ctx := context.Background()
	const n = 8
	var mu sync.Mutex
	var order []int64
	var wg sync.WaitGroup
	for i := range n {
		s := etcdtest.Session(t, etcdtest.Client(t, c, i), 10)
		m, err := fairmutex.New(s, "/smoke")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := m.Lock(ctx); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, m.Token())
				mu.Unlock()
				if err := m.Unlock(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Fatalf("tokens not rising: %v", order)
		}
	}
	t.Logf("%d acquisitions", len(order))
}
