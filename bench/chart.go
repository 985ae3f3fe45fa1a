package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"
)

// series is one line of the chart: one contender (and read share) against
// the number of contenders.
// Lines are coloured by family (this module, etcd, the herd) and dashed by
// mode (mutex solid, then one dash pattern per read share), so that each
// of ours sits next to its anchor in the same pattern.
type series struct {
	label  string
	color  string
	dashes string // SVG stroke-dasharray; "" for solid
	points []cellResult
}

var familyColor = map[string]string{
	nameFair: "#1b7837", nameRW: "#1b7837", nameSem: "#1b7837", nameElection: "#1b7837", // this module: green
	nameEtcdMutex: "#d95f02", nameEtcdRW: "#d95f02", nameEtcdElect: "#d95f02", // etcd: orange
	nameHerd: "#7570b3", nameCurator: "#7570b3", // herd baselines: purple
}

var dashPatterns = []string{"7,4", "2,3", "10,3,2,3"}

// Dash patterns of the semaphores and elections, apart from the read shares'.
const semDashes, electionDashes = "12,4,2,4,2,4", "16,3"

func chartSeries(res *results) []series {
	var out []series
	add := func(label, color, dashes string, r cellResult) {
		for i := range out {
			if out[i].label == label {
				out[i].points = append(out[i].points, r)
				return
			}
		}
		out = append(out, series{label: label, color: color, dashes: dashes, points: []cellResult{r}})
	}
	for _, r := range res.Mutex {
		add(r.Contender, familyColor[r.Contender], "", r)
	}
	shares := readShares(res.RW)
	for _, r := range res.RW {
		dashes := dashPatterns[slices.Index(shares, r.ReadPct)%len(dashPatterns)]
		add(fmt.Sprintf("%s, %d%% reads", r.Contender, r.ReadPct), familyColor[r.Contender], dashes, r)
	}
	for _, r := range res.Semaphore {
		add(fmt.Sprintf("%s, limit %d", r.Contender, r.Limit), familyColor[r.Contender], semDashes, r)
	}
	for _, r := range res.Election {
		add(r.Contender+" (terms/s)", familyColor[r.Contender], electionDashes, r)
	}
	return out
}

const (
	chartW, panelW, panelH = 1080, 440, 300
	marginL, marginT       = 70, 40
	panelGap               = 110
)

// chart draws throughput and p99 handoff against the number of contenders,
// two log-log panels, one line per series.
func chart(res *results) string {
	ss := chartSeries(res)
	var ns []int
	for _, s := range ss {
		for _, p := range s.points {
			if !slices.Contains(ns, p.N) {
				ns = append(ns, p.N)
			}
		}
	}
	slices.Sort(ns)
	legendRows := (len(ss) + 2) / 3
	height := marginT + panelH + 60 + 22*legendRows + 10

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, height, chartW, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")

	throughput := func(r cellResult) (float64, bool) { return r.PerSec, r.Err == "" && r.PerSec > 0 }
	handoff := func(r cellResult) (float64, bool) {
		return float64(r.HandoffP99) / float64(time.Millisecond), r.Err == "" && r.Handoffs > 0 && r.HandoffP99 > 0
	}
	panel(&b, ss, ns, marginL, "acquisitions per second (log)", throughput)
	panel(&b, ss, ns, marginL+panelW+panelGap, "p99 handoff, ms (log)", handoff)

	for i, s := range ss {
		x := marginL + (i%3)*330
		y := marginT + panelH + 60 + (i/3)*22
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"%s/>`,
			x, y, x+36, y, s.color, dash(s.dashes))
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+44, y+4, html.EscapeString(s.label))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func dash(pattern string) string {
	if pattern == "" {
		return ""
	}
	return ` stroke-dasharray="` + pattern + `"`
}

// panel draws one log-log panel with its left edge at x0.
func panel(b *strings.Builder, ss []series, ns []int, x0 int, title string, value func(cellResult) (float64, bool)) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.points {
			if v, ok := value(p); ok {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", x0, marginT-15, html.EscapeString(title))
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", x0, marginT, panelW, panelH)
	if len(ns) == 0 || math.IsInf(lo, 1) {
		fmt.Fprintf(b, `<text x="%d" y="%d">no data</text>`+"\n", x0+panelW/2-25, marginT+panelH/2)
		return
	}
	// Whole decades, so the grid lines fall on 1, 10, 100...
	ylo, yhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if yhi == ylo {
		yhi++
	}
	xlo, xhi := math.Log2(float64(ns[0])), math.Log2(float64(ns[len(ns)-1]))
	if xhi == xlo {
		xlo, xhi = xlo-1, xhi+1
	}
	px := func(n int) float64 {
		return float64(x0) + 20 + (math.Log2(float64(n))-xlo)/(xhi-xlo)*float64(panelW-40)
	}
	py := func(v float64) float64 {
		return float64(marginT+panelH) - (math.Log10(v)-ylo)/(yhi-ylo)*float64(panelH)
	}
	for d := ylo; d <= yhi; d++ {
		y := py(math.Pow(10, d))
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`, x0, y, x0+panelW, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-6, y+4, decade(d))
		for _, m := range []float64{2, 5} { // minor lines
			if d < yhi {
				ym := py(m * math.Pow(10, d))
				fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#f0f0f0"/>`+"\n", x0, ym, x0+panelW, ym)
			}
		}
	}
	for _, n := range ns {
		x := px(n)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>`, x, marginT, x, marginT+panelH)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x, marginT+panelH+16, n)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">contenders (log)</text>`+"\n", x0+panelW/2, marginT+panelH+34)
	for _, s := range ss {
		color := s.color
		var path []string
		for _, p := range s.points {
			v, ok := value(p)
			if !ok {
				continue
			}
			path = append(path, fmt.Sprintf("%.1f,%.1f", px(p.N), py(v)))
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s n=%d: %.3g</title></circle>`+"\n",
				px(p.N), py(v), color, html.EscapeString(s.label), p.N, v)
		}
		if len(path) > 1 {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n",
				strings.Join(path, " "), color, dash(s.dashes))
		}
	}
}

// decade labels 10^d compactly: 0.01, 0.1, 1, 10, 100, 1k, 10k.
func decade(d float64) string {
	v := math.Pow(10, d)
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	default:
		return fmt.Sprintf("%g", v)
	}
}
