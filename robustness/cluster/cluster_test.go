package cluster_test

import (
	"slices"
	"testing"

	"github.com/fairlock/fairlock/robustness/cluster"
	"github.com/fairlock/fairlock/robustness/proxy"
)

// Losing member 0's messages cuts its requests at the others' proxies and
// its replies at its own; cutting it off cuts the reverse as well, so that
// every connection between it and the others is stalled both ways, and no
// connection between the others is touched.
func TestPeerCuts(t *testing.T) {
	up := []cluster.PeerCut{{At: 1, From: 0, Dir: proxy.Up}, {At: 0, From: 1, Dir: proxy.Down},
		{At: 2, From: 0, Dir: proxy.Up}, {At: 0, From: 2, Dir: proxy.Down}}
	if got := cluster.PeerCuts(0, 3, proxy.Up); !slices.Equal(got, up) {
		t.Fatalf("PeerCuts(0, 3, Up) = %v, want %v", got, up)
	}
	down := []cluster.PeerCut{{At: 0, From: 1, Dir: proxy.Up}, {At: 1, From: 0, Dir: proxy.Down},
		{At: 0, From: 2, Dir: proxy.Up}, {At: 2, From: 0, Dir: proxy.Down}}
	if got := cluster.PeerCuts(0, 3, proxy.Down); !slices.Equal(got, down) {
		t.Fatalf("PeerCuts(0, 3, Down) = %v, want %v", got, down)
	}
	both := map[[2]int]proxy.Dir{}
	for _, c := range cluster.PeerCuts(1, 3, proxy.Both) {
		both[[2]int{c.At, c.From}] |= c.Dir
	}
	want := map[[2]int]proxy.Dir{{0, 1}: proxy.Both, {1, 0}: proxy.Both, {2, 1}: proxy.Both, {1, 2}: proxy.Both}
	if len(both) != len(want) {
		t.Fatalf("PeerCuts(1, 3, Both) touches %v, want %v", both, want)
	}
	for k, d := range want {
		if both[k] != d {
			t.Fatalf("PeerCuts(1, 3, Both): proxy of m%d, from m%d: %v, want %v", k[0]+1, k[1]+1, both[k], d)
		}
	}
}
