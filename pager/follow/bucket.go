package follow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bucket formats of a bucket column (BucketColumn.Format):
//
//   - a date pattern of the bucket's start in UTC, made of yyyy, MM, dd,
//     HH, mm, ss and literal characters (anything else, or text in single
//     quotes): "yyyy-MM-dd-HH" gives "2026-12-04-15". The value is text
//     (for text/ascii columns) or, for an int or bigint column, the
//     pattern must render only digits and the value is that number
//     ("yyyyMMddHH" → 2026120415).
//   - "epoch": the bucket's start in Unix seconds divided by
//     Buckets.Width (an integer: floor(unix_seconds / width_seconds)).
//   - "timestamp": the bucket's start (a timestamp column), aligned to
//     Buckets.Width from the Unix epoch.
//   - "date": the bucket's day (a date column).
const (
	FormatEpoch     = "epoch"
	FormatTimestamp = "timestamp"
	FormatDate      = "date"
)

// BucketColumn is one partition key column derived from time.
type BucketColumn struct {
	Name   string
	Format string
}

// Buckets says how a time-bucketed table's partition key is derived from
// an event's time: one value per bucket column, plus an optional shard
// column that takes the values 0..Shards-1 in every bucket.
type Buckets struct {
	Columns     []BucketColumn
	Width       time.Duration // for the epoch and timestamp formats; 0 when none is used
	ShardColumn string        // "" = no shard column
	Shards      int           // with ShardColumn: the number of shards (>= 1)
}

// fmtKind is a compiled bucket format.
type fmtKind struct {
	kind    string        // "pattern", FormatEpoch, FormatTimestamp, FormatDate
	pattern []patPart     // kind pattern
	unit    time.Duration // how often the value can change (its alignment from the Unix epoch)
}

type patPart struct {
	field string // "yyyy", "MM", "dd", "HH", "mm", "ss", or "" for a literal
	lit   string
}

const day = 24 * time.Hour

// compile checks b and returns its compiled formats and the enumeration
// step: the greatest common divisor of every format's unit, so that every
// combination of bucket values starts on a multiple of the step.
func (b Buckets) compile() ([]fmtKind, time.Duration, error) {
	if len(b.Columns) == 0 {
		return nil, 0, errors.New("no bucket column")
	}
	if b.Width < 0 || (b.Width > 0 && b.Width%time.Second != 0) {
		return nil, 0, fmt.Errorf("bucket width %v: must be a whole number of seconds", b.Width)
	}
	if b.ShardColumn != "" && b.Shards < 1 {
		return nil, 0, fmt.Errorf("shard column %q with %d shards: need at least 1", b.ShardColumn, b.Shards)
	}
	if b.ShardColumn == "" && b.Shards > 1 {
		return nil, 0, fmt.Errorf("%d shards without a shard column", b.Shards)
	}
	seen := map[string]bool{}
	var out []fmtKind
	var step time.Duration
	for _, c := range b.Columns {
		if c.Name == "" {
			return nil, 0, errors.New("a bucket column has no name")
		}
		if seen[c.Name] || c.Name == b.ShardColumn {
			return nil, 0, fmt.Errorf("column %q is named twice", c.Name)
		}
		seen[c.Name] = true
		var f fmtKind
		switch c.Format {
		case FormatEpoch, FormatTimestamp:
			if b.Width <= 0 {
				return nil, 0, fmt.Errorf("bucket column %q: format %q needs a bucket width", c.Name, c.Format)
			}
			f = fmtKind{kind: c.Format, unit: b.Width}
		case FormatDate:
			f = fmtKind{kind: FormatDate, unit: day}
		case "":
			return nil, 0, fmt.Errorf("bucket column %q has no format", c.Name)
		default:
			parts, unit, err := parsePattern(c.Format)
			if err != nil {
				return nil, 0, fmt.Errorf("bucket column %q: %w", c.Name, err)
			}
			f = fmtKind{kind: "pattern", pattern: parts, unit: unit}
		}
		out = append(out, f)
		step = gcd(step, f.unit)
	}
	return out, step, nil
}

func gcd(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// parsePattern splits a date pattern into fields and literals, and
// returns the unit of its finest field (a day for yyyy, MM and dd: months
// and years start on day boundaries).
func parsePattern(p string) ([]patPart, time.Duration, error) {
	var parts []patPart
	unit := time.Duration(0)
	fields := []struct {
		f string
		u time.Duration
	}{{"yyyy", day}, {"MM", day}, {"dd", day}, {"HH", time.Hour}, {"mm", time.Minute}, {"ss", time.Second}}
	lit := func(s string) {
		if n := len(parts); n > 0 && parts[n-1].field == "" {
			parts[n-1].lit += s
			return
		}
		parts = append(parts, patPart{lit: s})
	}
	for i := 0; i < len(p); {
		if p[i] == '\'' {
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				return nil, 0, fmt.Errorf("pattern %q: unterminated quote", p)
			}
			lit(p[i+1 : i+1+j])
			i += j + 2
			continue
		}
		matched := false
		for _, f := range fields {
			if strings.HasPrefix(p[i:], f.f) {
				parts = append(parts, patPart{field: f.f})
				if unit == 0 || f.u < unit {
					unit = f.u
				}
				i += len(f.f)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := p[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			return nil, 0, fmt.Errorf("pattern %q: unknown field at %q (fields: yyyy MM dd HH mm ss; quote literal letters with ')", p, p[i:])
		}
		lit(p[i : i+1])
		i++
	}
	if unit == 0 {
		return nil, 0, fmt.Errorf("pattern %q has no date field (yyyy MM dd HH mm ss)", p)
	}
	return parts, unit, nil
}

// Numeric reports whether a pattern renders only digits (so it can fill an
// int or bigint column).
func Numeric(format string) bool {
	parts, _, err := parsePattern(format)
	if err != nil {
		return false
	}
	for _, p := range parts {
		if p.field == "" && strings.Trim(p.lit, "0123456789") != "" {
			return false
		}
	}
	return true
}

// value renders the bucket value of the instant t (UTC) for one column:
// a string (pattern), an int64 (epoch) or a time.Time (timestamp, date).
func (f fmtKind) value(t time.Time) any {
	t = t.UTC()
	switch f.kind {
	case FormatEpoch:
		return floorDiv(t.Unix(), int64(f.unit/time.Second))
	case FormatTimestamp:
		ms := t.UnixMilli()
		u := f.unit.Milliseconds()
		return time.UnixMilli(floorDiv(ms, u) * u).UTC()
	case FormatDate:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	var sb strings.Builder
	for _, p := range f.pattern {
		switch p.field {
		case "":
			sb.WriteString(p.lit)
		case "yyyy":
			sb.WriteString(pad(t.Year(), 4))
		case "MM":
			sb.WriteString(pad(int(t.Month()), 2))
		case "dd":
			sb.WriteString(pad(t.Day(), 2))
		case "HH":
			sb.WriteString(pad(t.Hour(), 2))
		case "mm":
			sb.WriteString(pad(t.Minute(), 2))
		case "ss":
			sb.WriteString(pad(t.Second(), 2))
		}
	}
	return sb.String()
}

func pad(v, n int) string {
	s := strconv.Itoa(v)
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// bucketKey is the values of the bucket columns of one bucket, and the
// first instant (Unix ms) of (lo, hi] that falls in it.
type bucketKey struct {
	values []any
	text   string // canonical rendering, to tell buckets apart
	first  int64
}

// enumerate returns the distinct buckets that hold an instant of
// (lo, hi] (Unix ms), in time order of their first instant, at most max of
// them; when there would be more, hi is lowered to the instant before the
// first bucket left out, and returned.
func enumerate(fmts []fmtKind, step time.Duration, lo, hi int64, max int) ([]bucketKey, int64) {
	var out []bucketKey
	seen := map[string]bool{}
	stepMs := step.Milliseconds()
	for t := lo + 1; t <= hi; {
		tt := time.UnixMilli(t)
		vals := make([]any, len(fmts))
		var sb strings.Builder
		for i, f := range fmts {
			vals[i] = f.value(tt)
			fmt.Fprintf(&sb, "%v\x00", vals[i])
		}
		k := sb.String()
		if !seen[k] {
			if len(out) == max {
				return out, t - 1
			}
			seen[k] = true
			out = append(out, bucketKey{values: vals, text: k, first: t})
		}
		t = (floorDiv(t, stepMs) + 1) * stepMs
	}
	return out, hi
}

// describe renders a bucket's values for messages.
func (k bucketKey) describe() string {
	parts := make([]string, len(k.values))
	for i, v := range k.values {
		switch x := v.(type) {
		case time.Time:
			parts[i] = x.UTC().Format(time.RFC3339)
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	return strings.Join(parts, "/")
}
