// Package proxy is the TCP proxy that every connection of the robustness
// suite goes through, so that the suite can cut it: every client process
// reaches each etcd member through proxies of its own, and every member
// reaches its peers through a proxy in front of each peer's listener.
//
// A cut stalls a direction of a connection (the proxy stops forwarding what
// it reads, so the sender's buffers fill, as behind a dead link) until Heal,
// when what was held is delivered late, as TCP's retransmissions would.
// That is a partition as the processes see one: nothing closes, calls hang,
// and requests sent before the cut may be applied after it.
//
// A peer proxy also tells its connections apart by the member that opened
// them: etcd's peer requests carry the sender's member ID (X-Server-From),
// and one connection only ever carries one member's requests. That is what
// lets the suite cut one member from the others, or one direction only,
// which etcd's own proxy (go.etcd.io/etcd/pkg/v3/proxy) cannot: it cuts a
// member's listener, and messages keep flowing over connections that the
// member opened itself (etcd's robustness tests say as much).
package proxy
