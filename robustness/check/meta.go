package check

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// Meta is what the runner says of a run, in meta.json beside the
// histories.
type Meta struct {
	Seed      int64         `json:"seed"`
	Dur       time.Duration `json:"dur"`
	TTL       time.Duration `json:"ttl"`
	Faults    string        `json:"faults,omitempty"` // the kinds asked for; "" for all
	Plan      []string      `json:"plan"`
	Start     int64         `json:"start"`      // the workers started, ns since the epoch
	OutageEnd int64         `json:"outage_end"` // the cluster was back after the last fault
	End       int64         `json:"end"`        // the workers were asked to stop
	Workers   []WorkerMeta  `json:"workers"`
	// Left is every entry still in a line at the end, once the workers
	// had stopped and the TTL had passed.
	Left []string `json:"left,omitempty"`
	// Unstopped are workers that did not stop within their time.
	Unstopped []string `json:"unstopped,omitempty"`
}

// WorkerMeta is one worker and its incarnations.
type WorkerMeta struct {
	Name     string   `json:"name"`
	Workload string   `json:"workload"`
	Role     string   `json:"role,omitempty"`
	Procs    []string `json:"procs"`
}

// WriteMeta writes m into dir.
func WriteMeta(dir string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o644)
}

// ReadMeta reads dir's meta.json.
func ReadMeta(dir string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}
