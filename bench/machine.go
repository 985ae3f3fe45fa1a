package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/version"
)

// machine describes where the numbers were measured.
type machine struct {
	CPU     string
	Cores   int
	OS      string
	Go      string
	Etcd    string
	Fsync   bool
	LoadAvg string // at the start of the run: the machine may be shared
	Source  string // the library's git commit, if known
}

func describeMachine(fsync bool) machine {
	m := machine{
		CPU:    firstField("/proc/cpuinfo", "model name"),
		Cores:  runtime.NumCPU(),
		OS:     runtime.GOOS + "/" + runtime.GOARCH,
		Go:     runtime.Version(),
		Etcd:   version.Version,
		Fsync:  fsync,
		Source: librarySource(),
	}
	if m.CPU == "" {
		m.CPU = "unknown"
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", kernel " + strings.TrimSpace(string(rel))
	}
	if name := strings.Trim(firstField("/etc/os-release", "PRETTY_NAME"), `"`); name != "" {
		m.OS = name + ", " + m.OS
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(load)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// cpuSample is a reading of the machine's busy CPU time and this
// process's own, to tell how much of the machine others used meanwhile.
type cpuSample struct {
	at         time.Time
	busy, self time.Duration
	ok         bool
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	line := firstLine("/proc/stat")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return s
	}
	var ticks int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return s
		}
		ticks += n
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s
	}
	s.busy = time.Duration(ticks) * time.Second / 100 // USER_HZ
	s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.ok = true
	return s
}

// othersShare returns the share of the machine's CPU (0 to 1) that other
// processes used between a and b, and whether it could tell.
func othersShare(a, b cpuSample) (float64, bool) {
	wall := b.at.Sub(a.at)
	if !a.ok || !b.ok || wall <= 0 {
		return 0, false
	}
	others := (b.busy - a.busy) - (b.self - a.self)
	return max(0, float64(others)/float64(wall)/float64(runtime.NumCPU())), true
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}

// librarySource names the commit of the library packages measured, and
// says so when they differ from it: others may be editing the checkout.
func librarySource() string {
	rev, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	src := "commit " + strings.TrimSpace(string(rev))
	dirty, err := exec.Command("git", "status", "--porcelain", "--", ":/queue", ":/fairmutex", ":/rwmutex",
		":/semaphore", ":/election", ":/internal").Output()
	if err == nil && len(strings.TrimSpace(string(dirty))) > 0 {
		src += " with uncommitted changes to the library"
	}
	return src
}

// firstField returns the value of the first "key: value" or "key=value" line
// of path whose key is key, "" if none.
func firstField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			k, v, ok = strings.Cut(sc.Text(), "=")
		}
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (m machine) fsyncText() string {
	if m.Fsync {
		return "on"
	}
	return "off (-nofsync)"
}
