package fairmutex_test

import (
	"testing"

	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/fairlock/fairlock/integration/internal/testcluster"
)

type clusterT struct{ *integration.Cluster }

// cluster starts a three-member cluster: the members a line spans are the
// ones it must stay ordered across.
func cluster(t *testing.T) *clusterT { return &clusterT{testcluster.Cluster(t, 3)} }
