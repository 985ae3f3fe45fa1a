package queue

import "sync"

// worker is a background loop of a session (its cleanup, its check of
// waiters' own keys, a deadline group of Done channels): the one way this
// package starts one. kick starts the loop unless it runs already; run
// works until it finds nothing left to do, or the session ends, and the
// loop stops once idle agrees, under the worker's lock: work added after
// that starts a new loop, work added before keeps this one going. So at
// most one goroutine per worker, none while there is no work, and no work
// is missed. wake, buffered, tells a running loop that work came (run
// may wait on it between rounds).
type worker struct {
	run  func(wake <-chan struct{})
	idle func() bool // takes the part's lock, never the other way round
	wake chan struct{}

	mu      sync.Mutex
	running bool
}

func newWorker(run func(wake <-chan struct{}), idle func() bool) *worker {
	return &worker{run: run, idle: idle, wake: make(chan struct{}, 1)}
}

// kick tells the loop there is work, starting it if it is not running.
// Call it after the work is added, without holding the part's lock.
func (w *worker) kick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	if !w.running {
		w.running = true
		go w.loop()
	}
}

// nudge wakes the loop if it runs, starting none: the work changed, but
// nothing was added (a ticket removed, so the loop may find it can stop).
func (w *worker) nudge() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) loop() {
	for {
		w.run(w.wake)
		w.mu.Lock()
		if !w.idle() {
			w.mu.Unlock()
			continue
		}
		w.running = false
		w.mu.Unlock()
		return
	}
}
