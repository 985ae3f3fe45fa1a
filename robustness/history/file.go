package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Writer appends JSON lines to a file, one write per line, so a line is
// whole in the file as soon as Write returns, even if the process is then
// killed. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	err error // the first failure; every later Write is dropped
}

// Create opens path for appending, creating it (and its directory).
func Create(path string) (*Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f}, nil
}

// Write appends v as one line. After a failure it writes nothing more: a
// history with a hole in it would lie. Err and Close report the failure.
func (w *Writer) Write(v any) {
	b, err := json.Marshal(v)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	if err != nil {
		w.err = fmt.Errorf("fairlock: robustness: history %s: %w", w.f.Name(), err)
		return
	}
	if _, err := w.f.Write(append(b, '\n')); err != nil {
		w.err = fmt.Errorf("fairlock: robustness: history %s: %w", w.f.Name(), err)
	}
}

// Err is the first failure to write, nil if none.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close closes the file and reports the first failure to write, if any.
func (w *Writer) Close() error { return errors.Join(w.Err(), w.f.Close()) }

// Now is the wall clock in nanoseconds since the epoch, the stamp of every
// record.
func Now() int64 { return time.Now().UnixNano() }

// ReadFile reads the JSON lines of path into values made by newV. A last
// line cut short (the process was killed while writing it) is dropped;
// any other bad line is an error.
func ReadFile[T any](path string) ([]T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			if !bytes.HasSuffix(data, []byte("\n")) && bytes.HasSuffix(data, line) {
				break // the last line, cut short
			}
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// ReadRecords reads every worker history (*.jsonl) in dir, sorted by time,
// then by process and line.
func ReadRecords(dir string) ([]Record, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	var all []Record
	for _, p := range paths {
		rs, err := ReadFile[Record](p)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].T < all[j].T })
	return all, nil
}
