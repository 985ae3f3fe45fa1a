// Package cluster runs the robustness suite's etcd cluster: three members
// as separate OS processes on loopback, each behind a peer proxy (its
// advertised peer URL), so that the suite can kill, pause, restart and cut
// them; and the client proxies through which each worker process reaches
// each member.
package cluster
