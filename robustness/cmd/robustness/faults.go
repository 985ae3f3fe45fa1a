package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fairlock/fairlock/robustness/check"
	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/proxy"
	"github.com/fairlock/fairlock/robustness/schedule"
	"github.com/fairlock/fairlock/robustness/workload"
)

// inject runs fault f from now to its end, and returns what it did. A
// fault whose victim must be found first (a leader, a follower, a holder)
// starts when it strikes, not when the search began: the checkers excuse
// what happens inside a fault's window, and end a killed worker's holds at
// its start.
func (r *runner) inject(ctx context.Context, f schedule.Fault) history.Fault {
	rec := history.Fault{Seq: f.Seq, Kind: string(f.Kind), Target: f.Target, From: history.Now()}
	hold := func() { workload.Sleep(ctx, f.Len) }
	c := r.cluster
	switch f.Kind {
	case schedule.KillLeader:
		i, err := c.Leader(ctx)
		if err != nil {
			rec.Note = err.Error()
			break
		}
		rec.Victim, rec.Members = c.Members[i].Name+" (leader)", []string{c.Members[i].Name}
		rec.From = history.Now()
		if err := c.Kill(i); err != nil {
			rec.Note = err.Error()
		}
		hold()
		if err := c.Restart(i); err != nil {
			rec.Note = "restart: " + err.Error()
		}
	case schedule.StopFollower:
		i, err := r.follower(ctx, f.Target)
		if err != nil {
			rec.Note = err.Error()
			break
		}
		rec.Victim, rec.Members = c.Members[i].Name+" (follower)", []string{c.Members[i].Name}
		rec.From = history.Now()
		c.Signal(i, syscall.SIGSTOP)
		hold()
		c.Signal(i, syscall.SIGCONT)
	case schedule.IsolateMember, schedule.OneWayMember:
		i, _ := strconv.Atoi(strings.TrimPrefix(f.Target, "m"))
		d := proxy.Both
		if f.Kind == schedule.OneWayMember {
			d = proxy.Up
		}
		rec.Victim, rec.Members = c.Members[i-1].Name, []string{c.Members[i-1].Name}
		c.Isolate(i-1, d)
		hold()
		c.HealPeers()
	case schedule.PauseClient:
		w := r.workers[f.Target]
		rec.Victim, rec.Procs = w.proc(), []string{w.proc()}
		w.signalTree(syscall.SIGSTOP)
		hold()
		w.signalTree(syscall.SIGCONT)
	case schedule.IsolateClient, schedule.OneWayClient:
		w := r.workers[f.Target]
		d := proxy.Both
		if f.Kind == schedule.OneWayClient {
			d = proxy.Down
		}
		rec.Victim, rec.Procs = w.proc(), []string{w.proc()}
		r.cluster.CutClient(w.name, d)
		hold()
		r.cluster.HealClient(w.name)
	case schedule.KillHolder, schedule.KillWaiter:
		o, err := r.find(ctx, f.Target, f.Kind == schedule.KillHolder)
		if err != nil {
			rec.Note = err.Error()
			break
		}
		if o.fairlockPid != 0 { // a fairlock exec: its guard must stop the job
			rec.Victim = fmt.Sprintf("fairlock exec pid %d of %s", o.fairlockPid, o.proc)
			rec.Note = o.desc
			rec.From = history.Now()
			syscall.Kill(o.fairlockPid, syscall.SIGKILL)
			hold()
			break
		}
		rec.Victim, rec.Procs, rec.Note = o.w.proc(), []string{o.w.proc()}, o.desc
		rec.From = history.Now()
		o.w.kill()
		hold()
		if err := o.w.start(); err != nil {
			rec.Note += "; restart: " + err.Error()
		}
	case schedule.CutExec:
		o, err := r.find(ctx, f.Target, true)
		if err != nil {
			rec.Note = err.Error()
			break
		}
		rec.Victim, rec.Procs, rec.Note = o.w.proc(), []string{o.w.proc()}, o.desc
		rec.From = history.Now()
		r.cluster.CutClient(o.w.name, proxy.Both)
		hold()
		r.cluster.HealClient(o.w.name)
	case schedule.Outage:
		rec.Victim = "every member"
		for i, m := range c.Members {
			rec.Members = append(rec.Members, m.Name)
			c.Kill(i)
		}
		hold()
		for i := range c.Members {
			if err := c.Restart(i); err != nil {
				rec.Note = "restart: " + err.Error()
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := c.WaitHealthy(wctx); err != nil {
			rec.Note = "not healthy after the outage: " + err.Error()
		}
		cancel()
	}
	rec.To = history.Now()
	return rec
}

// follower resolves "follower k": the k-th member that does not lead,
// counting from m1.
func (r *runner) follower(ctx context.Context, target string) (int, error) {
	k, _ := strconv.Atoi(strings.TrimPrefix(target, "follower "))
	leader, err := r.cluster.Leader(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range r.cluster.Members {
		if i == leader {
			continue
		}
		if n++; n == k {
			return i, nil
		}
	}
	return 0, fmt.Errorf("fairlock: robustness: no %s", target)
}

// owner is a line's entry and who made it.
type owner struct {
	w           *worker
	fairlockPid int // the entry is a fairlock exec's
	proc        string
	desc        string
}

// execValue reads a fairlock exec's entry: "HOST/PID COMMAND...", the
// command's arguments shell-quoted (the job's -proc has a '#').
var execValue = regexp.MustCompile(`^\S+/(\d+) .* -proc '?([^#' ]+)#\d+/\d+`)

// find finds, for up to two seconds, a holder (or a waiter) in the lines of
// the workload named name, oldest first, by etcd's record and the
// checker's reading of it.
func (r *runner) find(ctx context.Context, name string, holder bool) (owner, error) {
	var locks []string
	for _, w := range r.order {
		if w.spec.Name == name {
			locks = w.spec.Locks
			break
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		for _, lock := range locks {
			gctx, cancel := context.WithTimeout(ctx, time.Second)
			resp, err := r.cluster.Client().Get(gctx, lock+"/.", clientv3.WithPrefix())
			cancel()
			if err != nil {
				continue
			}
			var line []check.Entry
			for _, kv := range resp.Kvs {
				if e, ok := check.ParseKey(string(kv.Key)); ok && e.Lock == lock {
					e.Rev, e.Value = kv.CreateRevision, string(kv.Value)
					line = append(line, e)
				}
			}
			sort.Slice(line, func(i, j int) bool { return line[i].Rev < line[j].Rev })
			for i, ent := range check.Entitled(line) {
				if ent != holder {
					continue
				}
				if o, ok := r.ownerOf(line[i]); ok {
					what := "waiting"
					if holder {
						what = "holding"
					}
					o.desc = fmt.Sprintf("%s %s (token %d)", what, lock, line[i].Rev)
					return o, nil
				}
			}
		}
		if time.Now().After(deadline) || !workload.Sleep(ctx, 100*time.Millisecond) {
			what := "waiting on"
			if holder {
				what = "holding"
			}
			return owner{}, fmt.Errorf("skipped: no live worker %s a lock of %s", what, name)
		}
	}
}

// ownerOf maps an entry to the worker whose current process made it.
func (r *runner) ownerOf(e check.Entry) (owner, bool) {
	if m := execValue.FindStringSubmatch(e.Value); m != nil {
		pid, _ := strconv.Atoi(m[1])
		w := r.workers[m[2]]
		if w == nil {
			return owner{}, false
		}
		return owner{w: w, fairlockPid: pid, proc: w.proc()}, true
	}
	for _, w := range r.order {
		// A worker's identity is its process's name; a candidate's value
		// is that name and a count (workload/election.go).
		if p := w.proc(); e.Value == p || strings.HasPrefix(e.Value, p+":") {
			return owner{w: w, proc: p}, true
		}
	}
	return owner{}, false
}
