package history

import (
	"bufio"
	"bytes"
	"encoding/json"
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
	mu sync.Mutex
	f  *os.File
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

// Write appends v as one line. A failure to write is fatal to a history,
// so it panics: a run whose record has holes must not pass.
func (w *Writer) Write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("robustness: history record: %v", err))
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.f.Write(b); err != nil {
		panic(fmt.Sprintf("robustness: history %s: %v", w.f.Name(), err))
	}
}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }

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
