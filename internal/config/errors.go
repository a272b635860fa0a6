package config

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File string // name of the file
	Line int    // 1-based line, 0 when the problem is not tied to a line
	Path string // full key path, e.g. `stream[0] ("demo").source.page_size`; "" for syntax errors without a key
	Msg  string // what is wrong, lower case, no trailing period
}

// String renders "file:line: path: msg", leaving out the parts that are
// empty.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in a configuration file. Parse and Load
// return it (as error) whenever the file is not valid; Problems is never
// empty and is ordered by line (problems without a line first).
type Error struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func newError(probs []Problem) *Error {
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	// The same problem can be found twice (e.g. through two paths of one
	// check); report it once.
	out := probs[:0]
	seen := map[Problem]bool{}
	for _, p := range probs {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return &Error{Problems: out}
}
