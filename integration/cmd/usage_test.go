package cmd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each subcommand's usage line, as -h prints it, is the synopsis of the
// command's package doc (which the README repeats, see package readme).
func TestUsageIsTheDocSynopsis(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "cmd", "fairlock", "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"exec", "ls", "rm", "elect"} {
		p, code := run(t, nil, sub, "-h")
		if code != 0 {
			t.Fatalf("fairlock %s -h: exit %d", sub, code)
		}
		_, after, ok := strings.Cut(p.Stdout(), "Usage:\n")
		usage, _, _ := strings.Cut(strings.TrimSpace(after), "\n")
		if !ok || !strings.HasPrefix(usage, "fairlock "+sub+" ") {
			t.Fatalf("fairlock %s -h: no usage line in\n%s", sub, p.Stdout())
		}
		if !strings.Contains(string(doc), "//\t"+usage+"\n") {
			t.Errorf("fairlock %s -h says %q; cmd/fairlock/doc.go's synopsis does not", sub, usage)
		}
	}
}
