package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"

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

// librarySource names the commit of the library packages measured, and
// says so when they differ from it: others may be editing the checkout.
func librarySource() string {
	rev, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	src := "commit " + strings.TrimSpace(string(rev))
	dirty, err := exec.Command("git", "status", "--porcelain", "--", ":/queue", ":/fairmutex", ":/rwmutex", ":/internal/keys").Output()
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
