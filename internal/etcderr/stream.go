package etcderr

import (
	"context"
	"strconv"
	"sync/atomic"

	"google.golang.org/grpc/metadata"
)

// etcd checks a watch's permission when the watch is created, with the
// auth token of the stream it is created on, and that token is the one the
// stream was opened with: once it has expired, or the auth store has
// changed since (any user, role or grant, anywhere), every watch created
// on that stream is refused, though the user may read the key. etcd's
// client re-authenticates for each new stream, and keeps one stream per
// distinct outgoing metadata. So a refused watch is worth one more try on
// a stream of its own; refused there too, the refusal is final.

var streams atomic.Uint64

// FreshStream returns ctx with outgoing metadata of its own, so that a
// watch made with it opens a new stream, with a new auth token, rather
// than joining the stream its first try was refused on. The stream closes
// when its last watch ends.
func FreshStream(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "fairlock-watch-stream", strconv.FormatUint(streams.Add(1), 10))
}
