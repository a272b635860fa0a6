package harness

import (
	"bytes"
	"fmt"
	"strings"
)

// SplitLines splits text into lines, dropping the line terminators (\n or
// \r\n) and a final empty line, so that files with and without a trailing
// newline, or with CRLF endings, compare equal.
func SplitLines(b []byte) []string {
	s := string(b)
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// Equal reports whether two JSONL texts have the same lines (SplitLines).
func Equal(want, got []byte) bool {
	if bytes.Equal(want, got) {
		return true
	}
	w, g := SplitLines(want), SplitLines(got)
	if len(w) != len(g) {
		return false
	}
	for i := range w {
		if w[i] != g[i] {
			return false
		}
	}
	return true
}

// diffContext is the number of unchanged lines shown around a change.
const diffContext = 3

// maxDiffLines bounds the changed lines Diff prints.
const maxDiffLines = 200

// maxEditDistance bounds the work of the line matching: past this many
// changed lines, Diff reports the rest as one replaced block.
const maxEditDistance = 1000

// Diff returns a unified diff from want (the expected file, named
// wantName) to got (named gotName), or "" when their lines are equal. At
// most maxDiffLines changed lines are printed; the diff then says how many
// more there are.
func Diff(wantName string, want []byte, gotName string, got []byte) string {
	a, b := SplitLines(want), SplitLines(got)
	ops := diffLines(a, b)
	changed := 0
	for _, o := range ops {
		if o.kind != ' ' {
			changed++
		}
	}
	if changed == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s (expected, %d lines)\n+++ %s (actual, %d lines)\n", wantName, len(a), gotName, len(b))
	printed := 0
	// Group ops into hunks: runs of changes with up to 2*diffContext
	// unchanged lines between them.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-diffContext, 0)
		for start < i && ops[start].kind != ' ' {
			start++
		}
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*diffContext {
				end = min(end+diffContext, len(ops))
				break
			}
			end = run
		}
		aStart, bStart := ops[start].a, ops[start].b
		var aN, bN int
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				aN++
			}
			if o.kind != '-' {
				bN++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(aStart, aN), hunkRange(bStart, bN))
		for _, o := range ops[start:end] {
			if o.kind != ' ' {
				if printed == maxDiffLines {
					fmt.Fprintf(&sb, "... %d more changed lines not shown\n", changed-printed)
					return sb.String()
				}
				printed++
			}
			line := ""
			if o.kind == '+' {
				line = b[o.b]
			} else {
				line = a[o.a]
			}
			sb.WriteByte(o.kind)
			sb.WriteString(line)
			sb.WriteByte('\n')
		}
		i = end
	}
	return sb.String()
}

// hunkRange formats a unified-diff range: 1-based start and count.
func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// op is one line of an edit script: ' ' keep a[a] (= b[b]), '-' delete
// a[a], '+' insert b[b]. a and b are the positions in each text (for
// inserts, a is where the line goes; for deletes, b likewise).
type op struct {
	kind byte
	a, b int
}

// diffLines returns an edit script from a to b (Myers' algorithm on the
// part between the common prefix and suffix, bounded by maxEditDistance).
func diffLines(a, b []string) []op {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []op
	for i := range pre {
		ops = append(ops, op{' ', i, i})
	}
	ops = append(ops, myers(a[pre:len(a)-suf], b[pre:len(b)-suf], pre)...)
	for k := suf; k > 0; k-- {
		ops = append(ops, op{' ', len(a) - k, len(b) - k})
	}
	return ops
}

// myers computes a shortest edit script from a to b; off is added to
// every position. Past maxEditDistance it gives up matching and replaces
// a by b.
func myers(a, b []string, off int) []op {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return replaceAll(n, m, off)
	}
	maxD := min(n+m, maxEditDistance)
	v := make([]int, 2*maxD+2)
	var trace [][]int
	found := -1
	for d := 0; d <= maxD && found < 0; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[maxD+k-1] < v[maxD+k+1]) {
				x = v[maxD+k+1]
			} else {
				x = v[maxD+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[maxD+k] = x
			if x >= n && y >= m {
				found = d
				break
			}
		}
	}
	if found < 0 {
		return replaceAll(n, m, off)
	}
	// Walk back through the trace.
	var rev []op
	x, y := n, m
	for d := found; d > 0; d-- {
		pv := trace[d]
		k := x - y
		var pk int
		if k == -d || (k != d && pv[maxD+k-1] < pv[maxD+k+1]) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := pv[maxD+pk]
		py := px - pk
		for x > px && y > py {
			x--
			y--
			rev = append(rev, op{' ', off + x, off + y})
		}
		if x == px {
			y--
			rev = append(rev, op{'+', off + x, off + y})
		} else {
			x--
			rev = append(rev, op{'-', off + x, off + y})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, op{' ', off + x, off + y})
	}
	ops := make([]op, len(rev))
	for i, o := range rev {
		ops[len(rev)-1-i] = o
	}
	return ops
}

func replaceAll(n, m, off int) []op {
	ops := make([]op, 0, n+m)
	for i := range n {
		ops = append(ops, op{'-', off + i, off})
	}
	for j := range m {
		ops = append(ops, op{'+', off + n, off + j})
	}
	return ops
}
