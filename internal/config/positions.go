package config

import (
	"strconv"
	"strings"
)

// BurntSushi/toml records the position of keys internally but does not
// export it, and for arrays of tables it keeps a single position per key
// name (the last [[stream]] wins). So the loader finds lines itself: after
// the document has been parsed successfully by the toml package, scanLines
// walks the same text once and records the line of every key, table header
// and array element under its raw path, e.g. "stream[1].source.page_size"
// or "cassandra.hosts[2]". The scanner relies on the text being valid TOML
// (it only has to find where things start) but never panics on any input.

// joinKey appends one key segment to a raw path, quoting segments that are
// not bare keys the way TOML would.
func joinKey(parent, seg string) string {
	if !isBare(seg) {
		seg = strconv.Quote(seg)
	}
	if parent == "" {
		return seg
	}
	return parent + "." + seg
}

// indexKey appends an array index to a raw path.
func indexKey(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func isBare(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// prefixEnds returns the end offsets of every ancestor of raw path p,
// shortest first, ending with len(p).
func prefixEnds(p string) []int {
	var ends []int
	i := 0
	for i < len(p) {
		switch p[i] {
		case '.':
			i++
			continue
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				i = len(p)
			} else {
				i += j + 1
			}
		case '"':
			i++
			for i < len(p) && p[i] != '"' {
				if p[i] == '\\' {
					i++
				}
				i++
			}
			i++
			if i > len(p) {
				i = len(p)
			}
		default:
			for i < len(p) && p[i] != '.' && p[i] != '[' {
				i++
			}
		}
		ends = append(ends, i)
	}
	return ends
}

// lookupLine returns the line of raw path p, or of its closest ancestor
// that has one, or 0.
func lookupLine(lines map[string]int, p string) int {
	ends := prefixEnds(p)
	for k := len(ends) - 1; k >= 0; k-- {
		if l, ok := lines[p[:ends[k]]]; ok {
			return l
		}
	}
	return 0
}

type lineScanner struct {
	src    string
	i      int
	line   int
	lines  map[string]int
	arrays map[string]int // raw path of an array of tables → elements so far
	table  string         // raw path of the table the last header opened
}

// scanLines maps raw key paths of a valid TOML document to their lines.
func scanLines(src string) map[string]int {
	s := &lineScanner{src: src, line: 1, lines: map[string]int{}, arrays: map[string]int{}}
	s.document()
	return s.lines
}

func (s *lineScanner) set(p string, line int) {
	if _, ok := s.lines[p]; !ok {
		s.lines[p] = line
	}
}

func (s *lineScanner) eof() bool { return s.i >= len(s.src) }

func (s *lineScanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

func (s *lineScanner) advance() {
	if s.i < len(s.src) {
		if s.src[s.i] == '\n' {
			s.line++
		}
		s.i++
	}
}

// skipSpace skips blanks, and newlines and comments when nl is set.
func (s *lineScanner) skipSpace(nl bool) {
	for !s.eof() {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t':
			s.i++
		case nl && (c == '\n' || c == '\r'):
			s.advance()
		case nl && c == '#':
			s.skipComment()
		default:
			return
		}
	}
}

func (s *lineScanner) skipComment() {
	for !s.eof() && s.src[s.i] != '\n' {
		s.i++
	}
}

// skipLine skips to the start of the next line (after a header or value).
func (s *lineScanner) skipLine() {
	for !s.eof() && s.src[s.i] != '\n' {
		s.i++
	}
	s.advance()
}

func (s *lineScanner) document() {
	for !s.eof() {
		start := s.i
		s.skipSpace(true)
		if s.eof() {
			return
		}
		line := s.line
		if s.src[s.i] == '[' {
			array := s.peek(1) == '['
			s.i++
			if array {
				s.i++
			}
			segs := s.keySegments()
			s.set(s.resolveHeader(segs, array), line)
			s.skipLine()
		} else {
			s.keyValue(s.table)
			s.skipSpace(false)
			if !s.eof() && s.src[s.i] == '#' {
				s.skipComment()
			}
		}
		if s.i == start { // no progress on malformed input: move on
			s.advance()
		}
	}
}

// resolveHeader returns the raw path of the table a header opens, with
// the index of the latest element of every array of tables on the way.
func (s *lineScanner) resolveHeader(segs []string, array bool) string {
	p := ""
	for k, seg := range segs {
		p = joinKey(p, seg)
		if k == len(segs)-1 && array {
			s.set(p, s.line) // the array itself: its first element
			n := s.arrays[p]
			s.arrays[p] = n + 1
			p = indexKey(p, n)
		} else if n := s.arrays[p]; n > 0 {
			p = indexKey(p, n-1)
		}
		if k < len(segs)-1 || !array {
			// Intermediate tables of a header are implicitly defined here
			// unless they were defined earlier.
			s.set(p, s.line)
		}
	}
	s.table = p
	return p
}

// keySegments reads a dotted key up to '=', ']' or the end of the line.
func (s *lineScanner) keySegments() []string {
	var segs []string
	for !s.eof() {
		s.skipSpace(false)
		if s.eof() {
			break
		}
		c := s.src[s.i]
		switch {
		case c == '"':
			raw := s.basicString()
			if u, err := strconv.Unquote(raw); err == nil {
				segs = append(segs, u)
			} else if len(raw) >= 2 {
				segs = append(segs, raw[1:len(raw)-1])
			}
		case c == '\'':
			start := s.i + 1
			s.i++
			for !s.eof() && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
				s.i++
			}
			segs = append(segs, s.src[start:s.i])
			if !s.eof() && s.src[s.i] == '\'' {
				s.i++
			}
		case isBareByte(c):
			start := s.i
			for !s.eof() && isBareByte(s.src[s.i]) {
				s.i++
			}
			segs = append(segs, s.src[start:s.i])
		default:
			return segs
		}
		s.skipSpace(false)
		if s.eof() || s.src[s.i] != '.' {
			return segs
		}
		s.i++
	}
	return segs
}

func isBareByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// basicString reads a single-line "..." string and returns it with quotes.
func (s *lineScanner) basicString() string {
	start := s.i
	s.i++
	for !s.eof() && s.src[s.i] != '"' && s.src[s.i] != '\n' {
		if s.src[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	if !s.eof() && s.src[s.i] == '"' {
		s.i++
	}
	if s.i > len(s.src) {
		s.i = len(s.src)
	}
	return s.src[start:s.i]
}

// keyValue reads "key = value" in the table at raw path table.
func (s *lineScanner) keyValue(table string) {
	line := s.line
	segs := s.keySegments()
	p := table
	for _, seg := range segs {
		p = joinKey(p, seg)
		s.set(p, line)
	}
	s.skipSpace(false)
	if s.eof() || s.src[s.i] != '=' {
		return
	}
	s.i++
	s.skipSpace(false)
	s.value(p)
}

// value skips one value, recording the lines of array elements and of the
// keys of inline tables under raw path p.
func (s *lineScanner) value(p string) {
	if s.eof() {
		return
	}
	switch c := s.src[s.i]; c {
	case '"', '\'':
		s.stringValue(c)
	case '[':
		s.i++
		for n := 0; ; n++ {
			s.skipSpace(true)
			if s.eof() {
				return
			}
			if s.src[s.i] == ']' {
				s.i++
				return
			}
			s.set(indexKey(p, n), s.line)
			start := s.i
			s.value(indexKey(p, n))
			s.skipSpace(true)
			if !s.eof() && s.src[s.i] == ',' {
				s.i++
			} else if s.i == start {
				s.advance()
			}
		}
	case '{':
		s.i++
		for {
			s.skipSpace(true)
			if s.eof() {
				return
			}
			if s.src[s.i] == '}' {
				s.i++
				return
			}
			start := s.i
			s.keyValue(p)
			s.skipSpace(true)
			if !s.eof() && s.src[s.i] == ',' {
				s.i++
			} else if s.i == start {
				s.advance()
			}
		}
	default:
		for !s.eof() {
			switch s.src[s.i] {
			case ',', ']', '}', '\n', '#':
				return
			}
			s.i++
		}
	}
}

// stringValue skips a basic or literal string, single- or multi-line.
func (s *lineScanner) stringValue(q byte) {
	if s.peek(1) == q && s.peek(2) == q { // multi-line
		s.i += 3
		for !s.eof() {
			c := s.src[s.i]
			if c == '\\' && q == '"' {
				s.advance()
				s.advance()
				continue
			}
			if c == q && s.peek(1) == q && s.peek(2) == q {
				s.i += 3
				// Up to two more quotes belong to the content.
				for k := 0; k < 2 && !s.eof() && s.src[s.i] == q; k++ {
					s.i++
				}
				return
			}
			s.advance()
		}
		return
	}
	s.i++
	for !s.eof() && s.src[s.i] != q && s.src[s.i] != '\n' {
		if s.src[s.i] == '\\' && q == '"' {
			s.i++
		}
		s.i++
	}
	if !s.eof() && s.src[s.i] == q {
		s.i++
	}
	if s.i > len(s.src) {
		s.i = len(s.src)
	}
}
