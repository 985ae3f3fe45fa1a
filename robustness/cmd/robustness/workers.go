package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fairlock/fairlock/robustness/history"
	"github.com/fairlock/fairlock/robustness/workload"
)

// worker is one worker and its current process.
type worker struct {
	r    *runner
	name string
	spec workload.Spec
	role string
	eps  []string

	mu    sync.Mutex
	inc   int
	procs []string
	cmd   *exec.Cmd
	exit  chan struct{}
}

func (w *worker) hist() string { return filepath.Join(w.r.dir, "hist", w.name+".jsonl") }
func (w *worker) jobs() string { return filepath.Join(w.r.dir, "hist", w.name+".jobs.jsonl") }

// proc is the current process's name.
func (w *worker) proc() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("%s#%d", w.name, w.inc)
}

// start starts a new incarnation.
func (w *worker) start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inc++
	proc := fmt.Sprintf("%s#%d", w.name, w.inc)
	log, err := os.OpenFile(filepath.Join(w.r.dir, "logs", w.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "== %s %s\n", proc, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(w.r.workerBin, "-workload", w.spec.Name, "-proc", proc, "-role", w.role,
		"-endpoints", strings.Join(w.eps, ","), "-ttl", w.r.ttl.String(), "-hist", w.hist(), "-jobs", w.jobs(),
		"-fairlock", w.r.fairlockBin, "-seed", strconv.FormatInt(w.r.seed, 10))
	cmd.Stdout, cmd.Stderr = log, log
	// A group of its own: a pause or a kill of the worker reaches the
	// fairlock exec processes it runs, and a ^C to the runner does not. A
	// runner that dies takes its workers along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exit := make(chan struct{})
	go func() {
		err := cmd.Wait()
		w.r.procLog.Write(map[string]any{"t": history.Now(), "proc": proc, "exit": fmt.Sprint(err)})
		close(exit)
	}()
	w.cmd, w.exit = cmd, exit
	w.procs = append(w.procs, proc)
	w.r.procLog.Write(map[string]any{"t": history.Now(), "proc": proc, "pid": cmd.Process.Pid})
	return nil
}

// pids are the current process and its descendants (an exec worker's
// fairlock processes, their guards and jobs), the worker first.
func (w *worker) pids() []int {
	w.mu.Lock()
	root := w.cmd.Process.Pid
	w.mu.Unlock()
	return descendants(root)
}

// signalTree sends sig to the worker's process tree.
func (w *worker) signalTree(sig syscall.Signal) {
	for _, pid := range w.pids() {
		syscall.Kill(pid, sig)
	}
}

// kill SIGKILLs the worker's process and waits for it.
func (w *worker) kill() {
	w.mu.Lock()
	cmd, exit := w.cmd, w.exit
	w.mu.Unlock()
	cmd.Process.Kill()
	<-exit
}

// stop asks the worker to stop (SIGTERM) and waits up to d, then kills it;
// it reports whether it stopped by itself.
func (w *worker) stop(d time.Duration) bool {
	w.mu.Lock()
	cmd, exit := w.cmd, w.exit
	w.mu.Unlock()
	w.signalTree(syscall.SIGCONT)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exit:
		return true
	case <-time.After(d):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exit
		return false
	}
}

// descendants is pid and every process below it, parents first.
func descendants(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}
