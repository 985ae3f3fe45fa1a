package metriclabel

import "sync"

// Series holds one value per (lock label, kind), made at the first event
// of the pair: building an adapter's label sets, or looking children up in
// a metric vector, on every event would allocate and hash under a lock. It
// is safe for concurrent use.
type Series[S any] struct {
	group  func(string) string
	create func(lock, kind string) S

	mu sync.RWMutex
	m  map[seriesKey]S
}

type seriesKey struct{ lock, kind string }

// NewSeries returns a Series whose values create makes from a lock label
// (Lock of group and the name) and a kind. A nil group keeps names as
// they are.
func NewSeries[S any](group func(string) string, create func(lock, kind string) S) *Series[S] {
	return &Series[S]{group: group, create: create, m: make(map[seriesKey]S)}
}

// Label returns the lock label of name, as Get uses it.
func (s *Series[S]) Label(name string) string { return Lock(s.group, name) }

// Get returns the value of (name's lock label, kind), making it at the
// first call for the pair.
func (s *Series[S]) Get(name, kind string) S {
	k := seriesKey{lock: s.Label(name), kind: kind}
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	if ok {
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[k]; ok {
		return v
	}
	v = s.create(k.lock, k.kind)
	s.m[k] = v
	return v
}
