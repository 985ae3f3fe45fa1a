package history_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fairlock/fairlock/robustness/history"
)

// A process killed while writing leaves its last line cut short: the lines
// before it are read, the cut one is dropped. A bad line elsewhere is an
// error, never skipped.
func TestReadFileDropsOnlyACutLastLine(t *testing.T) {
	dir := t.TempDir()
	w, err := history.Create(filepath.Join(dir, "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(history.Record{T: 2, Proc: "a#1", Kind: history.Grant, Token: 7})
	w.Write(history.Record{T: 1, Proc: "a#1", Kind: history.Call})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(dir, "a.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"t":3,"proc":"a#1","k":"rel`)
	f.Close()

	rs, err := history.ReadRecords(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Kind != history.Call || rs[1].Token != 7 {
		t.Fatalf("records = %+v, want the call then the grant (sorted by time), the cut line dropped", rs)
	}

	os.WriteFile(filepath.Join(dir, "b.jsonl"), []byte("{\"t\":1}\nnot json\n{\"t\":2}\n"), 0o644)
	if _, err := history.ReadRecords(dir); err == nil {
		t.Fatal("a bad line in the middle of a file was skipped silently")
	}
}
