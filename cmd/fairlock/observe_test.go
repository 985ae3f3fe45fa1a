package main

import (
	"testing"

	"github.com/fairlock/fairlock/election"
)

func TestObserveOutput(t *testing.T) {
	l := election.Leader{Value: "db1/42 ./sched", Token: 7, Key: "/svc/.x/k", Lease: 0x5747a20b}
	gap := l
	gap.Gap = true
	for _, tc := range []struct {
		name string
		l    election.Leader
		line string
		rec  observeJSON
	}{
		{"leader", l, "leader 7 5747a20b /svc/.x/k db1/42 ./sched",
			observeJSON{Name: "/svc", Leader: true, Token: 7, Key: "/svc/.x/k", Lease: "5747a20b", Value: "db1/42 ./sched"}},
		{"after a gap", gap, "leader 7 5747a20b /svc/.x/k db1/42 ./sched",
			observeJSON{Name: "/svc", Leader: true, Token: 7, Key: "/svc/.x/k", Lease: "5747a20b", Value: "db1/42 ./sched", Gap: true}},
		{"nobody", election.Leader{}, "none", observeJSON{Name: "/svc"}},
		{"nobody after a gap", election.Leader{Gap: true}, "none", observeJSON{Name: "/svc", Gap: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := observeLine(tc.l); got != tc.line {
				t.Errorf("observeLine = %q, want %q", got, tc.line)
			}
			if got := observeRecord("/svc", tc.l); got != tc.rec {
				t.Errorf("observeRecord = %+v, want %+v", got, tc.rec)
			}
		})
	}
}
