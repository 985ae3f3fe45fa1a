package fairlockprom_test

import (
	"fmt"
	"testing"
	"time"

	fairlockprom "github.com/fairlock/fairlock/prometheus"
	"github.com/fairlock/fairlock/queue"
)

// BenchmarkHooks measures what the adapter adds to each lock event, the
// cost a Lock+Unlock pays for being measured: one op of "cycle" is the
// three events of a Lock/Unlock (join, grant, release).
func BenchmarkHooks(b *testing.B) {
	join := queue.JoinInfo{Name: "/jobs/nightly", Key: "/jobs/nightly/.x/1", Token: 7, Kind: queue.Exclusive, Ahead: 1}
	grant := queue.GrantInfo{Name: "/jobs/nightly", Key: "/jobs/nightly/.x/1", Token: 7, Kind: queue.Exclusive, Wait: 3 * time.Millisecond, Ahead: 1}
	release := queue.ReleaseInfo{Name: "/jobs/nightly", Key: "/jobs/nightly/.x/1", Token: 7, Kind: queue.Exclusive, Held: 40 * time.Millisecond}
	loss := queue.LossInfo{Name: "/jobs/nightly", Key: "/jobs/nightly/.x/1", Token: 7, Kind: queue.Exclusive, Granted: true, Reason: queue.ErrLost}

	for _, bc := range []struct {
		name string
		opts []fairlockprom.Option
	}{
		{"names", nil},
		{"grouped", []fairlockprom.Option{fairlockprom.WithNameGrouping(fairlockprom.GroupByPrefix(1))}},
	} {
		h := fairlockprom.New(bc.opts...).Hooks()
		for _, ev := range []struct {
			name string
			fire func()
		}{
			{"Joined", func() { h.Joined(join) }},
			{"Granted", func() { h.Granted(grant) }},
			{"Released", func() { h.Released(release) }},
			{"Lost", func() { h.Lost(loss) }},
			{"cycle", func() { h.Joined(join); h.Granted(grant); h.Released(release) }},
		} {
			ev.fire() // the series exist before timing, as after a lock's first use
			b.Run(fmt.Sprintf("%s/%s", bc.name, ev.name), func(b *testing.B) {
				b.ReportAllocs()
				for range b.N { // not b.Loop: the module supports Go 1.23
					ev.fire()
				}
			})
		}
		// Many goroutines on one lock's series: the contended case.
		b.Run(bc.name+"/cycle-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.Joined(join)
					h.Granted(grant)
					h.Released(release)
				}
			})
		})
	}
}
