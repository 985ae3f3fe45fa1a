package workload

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Prefix is where every key of the run lives; the runner watches it.
const Prefix = "/robustness/"

// Spec is one workload: its worker processes and locks, and what each
// worker does.
type Spec struct {
	Name    string   // also the workers' name stem: mutex-1, mutex-2, ...
	Workers int      // how many worker processes
	Locks   []string // the locks it uses
	Limit   int      // a semaphore's limit
	// Tenants: worker i (NAME-i) is Tenants[i-1]'s, for the tenants
	// workload.
	Tenants []Tenant
	// Observers are extra processes (NAME-observer-1, ...) that only
	// observe, for the election.
	Observers int
	// Exec: the workers drive fairlock exec processes.
	Exec bool
	Run  func(ctx context.Context, w *Worker) error
}

// Data is the key of a workload's data beside a lock (a register, a
// counter, an RW lock's state): under Prefix, outside every line.
func Data(lock, what string) string {
	return Prefix + "data" + lock[len(Prefix)-1:] + "/" + what
}

// Specs is every workload of the run.
func Specs() []Spec {
	return []Spec{
		{Name: "mutex", Workers: 3, Locks: []string{Prefix + "mutex/a", Prefix + "mutex/b"}, Run: runMutex},
		{Name: "rwmutex", Workers: 3, Locks: []string{Prefix + "rw"}, Run: runRWMutex},
		{Name: "semaphore", Workers: 4, Locks: []string{Prefix + "sem"}, Limit: 3, Run: runSemaphore},
		{Name: "election", Workers: 3, Observers: 2, Locks: []string{Prefix + "election"}, Run: runElection},
		{Name: "lockall", Workers: 3, Locks: []string{Prefix + "all/a", Prefix + "all/b", Prefix + "all/c", Prefix + "all/d"},
			Run: runLockAll},
		{Name: "exec", Workers: 2, Locks: []string{Prefix + "exec"}, Exec: true, Run: runExec},
		{Name: "tenants", Workers: len(tenants), Locks: []string{tenantsMutex, tenantsSem}, Tenants: tenants,
			Run: runTenants},
	}
}

// Tenant is a tenant of the tenants workload: one worker process whose
// Callers (each with a session of its own) take Lock as the tenant, with
// its Share.
type Tenant struct {
	Name    string
	Share   int
	Callers int
	Lock    string
	Limit   int // the lock is a semaphore of this limit; 0: a mutex
}

// LimitOf is the limit of the semaphore lock, 0 for a lock that is none.
func (s Spec) LimitOf(lock string) int {
	for _, t := range s.Tenants {
		if t.Lock == lock {
			return t.Limit
		}
	}
	return s.Limit
}

// TenantOf is the tenant of the spec's worker named worker (NAME-i).
func (s Spec) TenantOf(worker string) (Tenant, bool) {
	i, err := strconv.Atoi(strings.TrimPrefix(worker, s.Name+"-"))
	if err != nil || i < 1 || i > len(s.Tenants) {
		return Tenant{}, false
	}
	return s.Tenants[i-1], true
}

// Find returns the workload named name.
func Find(name string) (Spec, error) {
	for _, s := range Specs() {
		if s.Name == name {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("fairlock: robustness: no workload %q", name)
}

// Timing of every workload.
const (
	// Patience bounds every wait for a hold: a call still waiting then
	// fails, and the liveness check counts it.
	Patience = 30 * time.Second
	// OpTimeout bounds every other call to etcd.
	OpTimeout = 2 * time.Second
	// ReleaseTimeout bounds a release; ReleaseGiveUp the tries of one.
	ReleaseTimeout = 5 * time.Second
	ReleaseGiveUp  = 20 * time.Second
)
