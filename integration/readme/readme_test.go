// Package readme_test checks that the code in the repository's README.md is
// right when copied: every Go block compiles as it stands, and the
// command's synopsis is the one its package doc gives.
package readme_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// buildTimeout bounds the build of all the snippets: the first build of
// etcd's client on a loaded 2-core machine takes a while.
const buildTimeout = 5 * time.Minute

// snippet is a fenced block of README.md.
type snippet struct {
	line int // of the opening fence, 1-based
	lang string
	text string
}

// fenced returns the fenced blocks of a Markdown text, in order.
func fenced(md string) []snippet {
	var out []snippet
	var cur *snippet
	var body []string
	for i, l := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &snippet{line: i + 1, lang: strings.TrimSpace(strings.TrimPrefix(l, "```"))}
			body = nil
		case cur != nil && strings.TrimSpace(l) == "```":
			cur.text = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body = append(body, l)
		}
	}
	return out
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every ```go block of the README is a Go source file without its package
// clause (imports shown, no "..." left to fill in), and compiles as one
// package of its own, against this checkout's modules: code copied from
// the README builds. The blocks are fed to go build as an overlay, so
// nothing is written into the source tree.
func TestREADMEGoBlocksCompile(t *testing.T) {
	var blocks []snippet
	for _, s := range fenced(readme(t)) {
		if s.lang == "go" {
			blocks = append(blocks, s)
		}
	}
	if len(blocks) < 2 {
		t.Fatalf("README.md has %d Go blocks; want the Use and the testing ones at least", len(blocks))
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	replace := map[string]string{}
	var pkgs []string
	where := map[string]int{}
	for i, s := range blocks {
		if strings.HasPrefix(strings.TrimSpace(s.text), "package ") {
			t.Errorf("README.md:%d: the block has a package clause; the test adds one", s.line)
		}
		src := filepath.Join(dir, fmt.Sprintf("snippet%d.go", i))
		if err := os.WriteFile(src, []byte("package snippet\n\n"+s.text), 0o644); err != nil {
			t.Fatal(err)
		}
		// A directory that does not exist, inside this module: the
		// overlay makes it a package of one file.
		pkg := fmt.Sprintf("readme_snippet_%d", s.line)
		replace[filepath.Join(wd, pkg, "snippet.go")] = src
		pkgs = append(pkgs, "./"+pkg)
		where[pkg] = s.line
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	for _, pkg := range pkgs {
		cmd := exec.CommandContext(ctx, goBin(), "build", "-o", os.DevNull, "-overlay", overlayFile, pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README.md:%d: the Go block does not compile: %v\n%s", where[strings.TrimPrefix(pkg, "./")], err, out)
		}
	}
}

func goBin() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// synopsis returns the lines of text that start "fairlock " followed by
// one of the command's subcommands, with any comment-marker indent
// dropped.
func synopsis(text string) map[string]string {
	re := regexp.MustCompile(`(?m)^(?://\t)?(fairlock (exec|ls|rm|elect) .*)$`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		if strings.Contains(m[1], "[") || strings.Contains(m[1], "NAME") {
			if _, ok := out[m[2]]; !ok {
				out[m[2]] = strings.TrimSpace(m[1])
			}
		}
	}
	return out
}

// The README's synopsis of the command is its package doc's, line for line.
func TestREADMESynopsisIsTheCommandDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "cmd", "fairlock", "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	fromDoc, fromReadme := synopsis(string(doc)), synopsis(readme(t))
	for _, sub := range []string{"exec", "ls", "rm", "elect"} {
		if fromDoc[sub] == "" || fromDoc[sub] != fromReadme[sub] {
			t.Errorf("fairlock %s synopsis:\n doc.go:    %q\n README.md: %q", sub, fromDoc[sub], fromReadme[sub])
		}
	}
}
