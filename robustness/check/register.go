package check

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/fairlock/fairlock/robustness/history"
)

// regOp is one read-modify-write of a register: read Read, then write
// Read+1 fenced by the hold; Outcome is the write's.
type regOp struct {
	Lock    string
	Read    int64
	Outcome string
}

// registerModel is a register that read-modify-writes increment, each
// write applied (ok), refused by its fence (nothing written), or unknown
// (either). Partitioned by lock: each lock has its own register.
var registerModel = porcupine.NondeterministicModel{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var locks []string
		for _, op := range ops {
			l := op.Input.(regOp).Lock
			if by[l] == nil {
				locks = append(locks, l)
			}
			by[l] = append(by[l], op)
		}
		slices.Sort(locks)
		var out [][]porcupine.Operation
		for _, l := range locks {
			out = append(out, by[l])
		}
		return out
	},
	Init: func() []any { return []any{int64(0)} },
	Step: func(state, input, _ any) []any {
		s, in := state.(int64), input.(regOp)
		if s != in.Read {
			return nil
		}
		switch in.Outcome {
		case history.OK:
			return []any{s + 1}
		case history.Refused:
			return []any{s}
		}
		return []any{s, s + 1}
	},
	DescribeOperation: func(input, _ any) string {
		in := input.(regOp)
		return fmt.Sprintf("read %d, write %d: %s", in.Read, in.Read+1, in.Outcome)
	},
	DescribeState: func(state any) string { return fmt.Sprint(state) },
}

// Linearizable checks the fenced register operations in recs with
// porcupine. When they are not linearizable it writes porcupine's HTML
// visualisation into dir and says where.
func Linearizable(recs []history.Record, dir, name string) (ok bool, ops int, note string) {
	var hist []porcupine.Operation
	clients := map[string]int{}
	for _, r := range recs {
		if r.Kind != history.Register || r.Mode != "fenced" {
			continue
		}
		id, seen := clients[r.Proc]
		if !seen {
			id = len(clients)
			clients[r.Proc] = id
		}
		ret := r.T
		if r.Outcome == history.Unknown {
			ret = math.MaxInt64 // it may take effect at any time after its call
		}
		hist = append(hist, porcupine.Operation{ClientId: id, Input: regOp{r.Lock, r.Read, r.Outcome}, Call: r.Call,
			Output: nil, Return: ret, Metadata: fmt.Sprintf("%s token %d", r.Proc, r.Token)})
	}
	slices.SortFunc(hist, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	model := registerModel.ToModel()
	res, info := porcupine.CheckOperationsVerbose(model, hist, 0)
	if res == porcupine.Ok {
		return true, len(hist), ""
	}
	path := filepath.Join(dir, name+"-linearizability.html")
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		return false, len(hist), "porcupine: " + strings.ToLower(string(res)) + " (visualisation failed: " + err.Error() + ")"
	}
	if _, err := os.Stat(path); err != nil {
		return false, len(hist), "porcupine: " + string(res)
	}
	return false, len(hist), "see " + path
}
