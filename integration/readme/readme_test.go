// Package readme_test checks that the code in the repository's README.md
// and in its pages under docs/ is right when copied: every Go block
// compiles as it stands, the command's synopsis is the one its package doc
// gives, and every link between the pages leads somewhere.
package readme_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// buildTimeout bounds the build of all the snippets: the first build of
// etcd's client on a loaded 2-core machine takes a while.
const buildTimeout = 5 * time.Minute

// snippet is a fenced block of a page.
type snippet struct {
	page string // the page's path from the repository's root
	line int    // of the opening fence, 1-based
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

// root is the repository's root, from this package's directory.
var root = filepath.Join("..", "..")

// pages returns README.md and every page under docs/, by their paths from
// the repository's root, with their text.
func pages(t *testing.T) map[string]string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range append([]string{filepath.Join(root, "README.md")}, docs...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.ToSlash(rel)] = string(b)
	}
	if len(out) < 2 {
		t.Fatalf("no pages under docs/: %v", out)
	}
	return out
}

// goBlocks returns the ```go blocks of every page, page by page.
func goBlocks(t *testing.T) []snippet {
	var blocks []snippet
	ps := pages(t)
	for _, page := range slices.Sorted(maps.Keys(ps)) {
		for _, s := range fenced(ps[page]) {
			if s.lang == "go" {
				s.page = page
				blocks = append(blocks, s)
			}
		}
	}
	return blocks
}

// Every ```go block of the README and of docs/ is a Go source file without
// its package clause (imports shown, no "..." left to fill in), and
// compiles as one package of its own, against this checkout's modules:
// code copied from the pages builds. The blocks are fed to go build as an
// overlay, so nothing is written into the source tree.
func TestREADMEGoBlocksCompile(t *testing.T) {
	blocks := goBlocks(t)
	perPage := map[string]int{}
	for _, s := range blocks {
		perPage[s.page]++
	}
	if perPage["README.md"] < 2 || perPage["docs/testing.md"] < 1 {
		t.Fatalf("Go blocks per page: %v; want the README's Use blocks and the testing one at least", perPage)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	replace := map[string]string{}
	var pkgs []string
	where := map[string]snippet{}
	for i, s := range blocks {
		if strings.HasPrefix(strings.TrimSpace(s.text), "package ") {
			t.Errorf("%s:%d: the block has a package clause; the test adds one", s.page, s.line)
		}
		src := filepath.Join(dir, fmt.Sprintf("snippet%d.go", i))
		if err := os.WriteFile(src, []byte("package snippet\n\n"+s.text), 0o644); err != nil {
			t.Fatal(err)
		}
		// A directory that does not exist, inside this module: the
		// overlay makes it a package of one file.
		pkg := fmt.Sprintf("readme_snippet_%d", i)
		replace[filepath.Join(wd, pkg, "snippet.go")] = src
		pkgs = append(pkgs, "./"+pkg)
		where[pkg] = s
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
			s := where[strings.TrimPrefix(pkg, "./")]
			t.Errorf("%s:%d: the Go block does not compile: %v\n%s", s.page, s.line, err, out)
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

// The pages' synopsis of the command is its package doc's, line for line:
// some page gives each subcommand's, and none gives another.
func TestREADMESynopsisIsTheCommandDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "cmd", "fairlock", "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	fromDoc := synopsis(string(doc))
	given := map[string]bool{}
	for page, text := range pages(t) {
		for sub, line := range synopsis(text) {
			given[sub] = true
			if line != fromDoc[sub] {
				t.Errorf("fairlock %s synopsis:\n doc.go:  %q\n %s: %q", sub, fromDoc[sub], page, line)
			}
		}
	}
	for _, sub := range []string{"exec", "ls", "rm", "elect"} {
		if fromDoc[sub] == "" || !given[sub] {
			t.Errorf("fairlock %s: synopsis in doc.go %q, in no page", sub, fromDoc[sub])
		}
	}
}

// link is a Markdown link's target: [text](target).
var link = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// Every relative link of the README and of docs/ leads to a file of the
// repository, and every #anchor to a heading of its page: moving text
// between pages must not leave links behind. Web links are not followed.
func TestREADMELinksLead(t *testing.T) {
	ps := pages(t)
	for page, text := range ps {
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.ToSlash(filepath.Join(filepath.Dir(page), file))
			}
			if _, err := os.Stat(filepath.Join(root, path)); err != nil {
				t.Errorf("%s: link %q: %s does not exist", page, target, path)
				continue
			}
			if anchor != "" && !slices.Contains(anchors(ps[path]), anchor) {
				t.Errorf("%s: link %q: no heading of %s has the anchor #%s (it has %q)",
					page, target, path, anchor, anchors(ps[path]))
			}
		}
	}
}

// anchors returns the anchors GitHub gives the headings of a page: lower
// case, punctuation dropped, spaces turned into hyphens.
func anchors(md string) []string {
	var out []string
	inFence := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(l, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}

// The anchors are GitHub's.
func TestAnchors(t *testing.T) {
	got := anchors("# Title\n## When `Done` closes\n```\n# not a heading\n```\n" +
		"### Compared with etcd's `concurrency.Mutex`\n")
	want := []string{"title", "when-done-closes", "compared-with-etcds-concurrencymutex"}
	if !slices.Equal(got, want) {
		t.Errorf("anchors = %q, want %q", got, want)
	}
}
