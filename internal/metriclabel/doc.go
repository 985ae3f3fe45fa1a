// Package metriclabel is the label code that fairlock's metrics adapters
// (the prometheus/ and otel/ modules) share: the lock label of a name
// (grouped, and valid UTF-8 whatever etcd's key held), the labels of a
// loss, and the cache that makes each (lock, kind) series once rather than
// on every event.
//
// It imports nothing of fairlock's: kinds are plain strings here, so the
// package sits below queue like the rest of internal/.
package metriclabel
