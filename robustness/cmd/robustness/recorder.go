package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/fairlock/fairlock/robustness/cluster"
	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/workload"
)

func clientv3WithPrefix() []clientv3.OpOption { return []clientv3.OpOption{clientv3.WithPrefix()} }

// recorder watches the suite's prefix through each member on its own, from
// before the workers start: etcd's record of the run. One watch per member
// keeps a paused or cut member from delaying the record; the checker
// merges them.
type recorder struct {
	cli    *clientv3.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	seen   atomic.Int64 // the newest revision any watch delivered
}

func startRecorder(ctx context.Context, c *cluster.Cluster, dir string) (*recorder, error) {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := c.Client().Get(gctx, workload.Prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	cancel()
	if err != nil {
		return nil, err
	}
	from := resp.Header.Revision + 1
	wctx, stop := context.WithCancel(context.Background())
	r := &recorder{cli: c.Client(), cancel: stop}
	for _, m := range c.Members {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + m.Client}, DialTimeout: 5 * time.Second,
			Logger: zap.NewNop()})
		if err != nil {
			stop()
			return nil, err
		}
		h, err := history.Create(filepath.Join(dir, "etcd", "watch-"+m.Name+".jsonl"))
		if err != nil {
			stop()
			return nil, err
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer cli.Close()
			defer h.Close()
			next := from
			for wctx.Err() == nil {
				for resp := range cli.Watch(wctx, workload.Prefix, clientv3.WithPrefix(), clientv3.WithRev(next),
					clientv3.WithPrevKV()) {
					if resp.CompactRevision != 0 {
						h.Write(map[string]any{"t": history.Now(), "error": fmt.Sprintf("compacted at %d", resp.CompactRevision)})
					}
					now := history.Now()
					for _, ev := range resp.Events {
						e := history.Event{T: now, Rev: ev.Kv.ModRevision, Key: string(ev.Kv.Key), Create: ev.Kv.CreateRevision,
							Lease: ev.Kv.Lease, Value: string(ev.Kv.Value)}
						if ev.Type == clientv3.EventTypeDelete {
							e.Delete = true
							if ev.PrevKv != nil {
								e.Create, e.Lease = ev.PrevKv.CreateRevision, ev.PrevKv.Lease
							}
						}
						h.Write(e)
						next = ev.Kv.ModRevision + 1
						for s := r.seen.Load(); next-1 > s && !r.seen.CompareAndSwap(s, next-1); s = r.seen.Load() {
						}
					}
				}
				workload.Sleep(wctx, 100*time.Millisecond) // the watch ended (member killed): watch again from next
			}
		}()
	}
	return r, nil
}

// stop ends the watches once one of them has delivered a last write of
// its own (or after 10 s): the record then holds every earlier revision.
func (r *recorder) stop() {
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if resp, err := r.cli.Put(ctx, workload.Prefix+"end", "the run's last revision"); err == nil {
			for r.seen.Load() < resp.Header.Revision && workload.Sleep(ctx, 20*time.Millisecond) {
			}
		}
		r.cancel()
		r.wg.Wait()
	})
}
