package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// The shared configuration: several keys that only make sense together.
// The writer puts them one by one, so between its first and its last Put
// etcd holds a mix of the old and the new configuration; a reader that
// reads then sees a torn configuration. The checksum covers the other
// fields, so a reader can tell.
var fields = []string{"version", "db/host", "db/port", "feature", "checksum"}

// settings is one version of the configuration, field by field.
func settings(version int) map[string]string {
	s := map[string]string{
		"version": strconv.Itoa(version),
		"db/host": fmt.Sprintf("db-%d.internal", version),
		"db/port": strconv.Itoa(5432 + version%100),
		"feature": []string{"off", "on"}[version%2],
	}
	s["checksum"] = checksum(s)
	return s
}

func checksum(s map[string]string) string {
	h := sha256.New()
	for _, f := range fields[:len(fields)-1] {
		fmt.Fprintf(h, "%s=%s\n", f, s[f])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// consistent reports the version of a configuration read in one snapshot,
// or an error when it is incomplete or torn: a field, the checksum
// included, that does not belong to the version read.
func consistent(s map[string]string) (int, error) {
	for _, f := range fields {
		if _, ok := s[f]; !ok {
			return 0, fmt.Errorf("no %s", f)
		}
	}
	v, err := strconv.Atoi(s["version"])
	if err != nil {
		return 0, fmt.Errorf("version %q: %v", s["version"], err)
	}
	want := settings(v)
	for _, f := range fields {
		if s[f] != want[f] {
			return 0, fmt.Errorf("torn: version %d with %s=%s", v, f, s[f])
		}
	}
	return v, nil
}
