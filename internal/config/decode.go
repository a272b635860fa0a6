package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// The toml package decodes into structs too, but stops at the first value of
// the wrong type and cannot tell which [[stream]] a problem is in. So the
// document is decoded into plain maps (which only fails on syntax errors)
// and this decoder walks those maps against the Config structs, collecting
// every problem with its line.

// loc is where a value is: its raw path (the key of the lines map) and the
// path shown to people, which names array elements: `stream[0] ("demo")`.
type loc struct{ raw, disp string }

func (l loc) key(k string) loc { return loc{joinKey(l.raw, k), joinKey(l.disp, k)} }

func (l loc) index(i int, name string) loc {
	disp := indexKey(l.disp, i)
	if name != "" {
		disp += " (" + strconv.Quote(name) + ")"
	}
	return loc{indexKey(l.raw, i), disp}
}

type decoder struct {
	file  string
	lines map[string]int
	set   map[string]bool // raw paths of the keys present in the file
	bad   map[string]bool // raw paths that already have a problem
	probs []Problem
}

// addf records a problem with the key at l. Only the first problem of each
// key is kept: a value that is already wrong is not also reported by the
// checks that depend on it.
func (d *decoder) addf(l loc, format string, args ...any) {
	if d.bad[l.raw] {
		return
	}
	d.bad[l.raw] = true
	d.probs = append(d.probs, Problem{
		File: d.file,
		Line: lookupLine(d.lines, l.raw),
		Path: l.disp,
		Msg:  fmt.Sprintf(format, args...),
	})
}

// isSet reports whether the key at l appears in the file.
func (d *decoder) isSet(l loc) bool { return d.set[l.raw] }

// parseProblem turns an error of the toml parser into a Problem.
func parseProblem(file string, err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if msg == "" {
			msg = pe.Error()
		}
		return Problem{File: file, Line: pe.Position.Line, Path: pe.LastKey, Msg: "invalid TOML: " + msg}
	}
	return Problem{File: file, Msg: "invalid TOML: " + strings.TrimPrefix(err.Error(), "toml: ")}
}

// field is one decodable field of a config struct.
type field struct {
	name  string // TOML key
	index int
	tag   reflect.StructTag
}

func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name := sf.Tag.Get("toml")
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		fs = append(fs, field{name: name, index: i, tag: sf.Tag})
	}
	return fs
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	decoderType  = reflect.TypeFor[valueDecoder]()
)

// decodeStruct decodes table m into the struct rv, which already holds the
// defaults.
func (d *decoder) decodeStruct(m map[string]any, rv reflect.Value, l loc) {
	fs := fieldsOf(rv.Type())
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kl := l.key(k)
		f, ok := findField(fs, k)
		if !ok {
			d.addf(kl, "unknown key%s", suggest(rv.Type(), k))
			continue
		}
		d.set[kl.raw] = true
		d.decodeValue(m[k], rv.Field(f.index), kl, f.tag)
	}
	for _, f := range fs {
		if f.tag.Get("required") != "true" {
			continue
		}
		fv := rv.Field(f.index)
		isSlice := fv.Kind() == reflect.Slice
		if _, ok := m[f.name]; ok && (!isSlice || fv.Len() > 0) {
			continue
		}
		kl := l.key(f.name)
		if isSlice {
			d.addf(kl, "at least one [[%s]] table is required", kl.raw)
		} else {
			d.addf(kl, "is required")
		}
	}
}

func findField(fs []field, k string) (field, bool) {
	for _, f := range fs {
		if f.name == k {
			return f, true
		}
	}
	return field{}, false
}

// suggest returns " (did you mean ...?)" for a misspelt key of struct t, or
// a hint when the key belongs to a nested table.
func suggest(t reflect.Type, k string) string {
	switch strings.ToLower(k) {
	case "password", "token", "secret":
		return "; the file never holds a secret: name the environment variable that holds it with password_env (cassandra) or token_env (admin)"
	}
	best, bestD := "", 3
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	for _, f := range fieldsOf(t) {
		if norm(f.name) == norm(k) || len(k) >= 4 && strings.HasPrefix(f.name, k) {
			return fmt.Sprintf(" (did you mean %q?)", f.name)
		}
		if dd := levenshtein(f.name, k); dd < bestD {
			best, bestD = f.name, dd
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	for _, f := range fieldsOf(t) {
		ft := t.Field(f.index).Type
		if ft.Kind() == reflect.Struct && ft != durationType {
			if _, ok := findField(fieldsOf(ft), k); ok {
				return fmt.Sprintf(" (%q belongs in the %q table)", k, f.name)
			}
		}
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// decodeValue sets fv from TOML value v and checks the min, max and enum
// tags.
func (d *decoder) decodeValue(v any, fv reflect.Value, l loc, tag reflect.StructTag) {
	if fv.CanAddr() && fv.Addr().Type().Implements(decoderType) {
		if msg := fv.Addr().Interface().(valueDecoder).decodeValue(v); msg != "" {
			d.addf(l, "%s", msg)
			return
		}
		d.checkRange(fv, l, tag)
		return
	}
	if fv.Type() == durationType {
		s, ok := v.(string)
		if !ok {
			d.addf(l, "must be a duration string such as \"10s\" or \"250ms\", got %s", describe(v))
			return
		}
		if s == "" {
			fv.SetInt(0)
			return
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.addf(l, "invalid duration %q: want a number and a unit (ns, us, ms, s, m, h), e.g. \"10s\"", s)
			return
		}
		fv.SetInt(int64(dur))
		d.checkRange(fv, l, tag)
		return
	}
	switch fv.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.addf(l, "must be a string, got %s", describe(v))
			return
		}
		fv.SetString(s)
		if enum := tag.Get("enum"); enum != "" {
			allowed := strings.Split(enum, ",")
			found := false
			for _, a := range allowed {
				found = found || a == s
			}
			if !found {
				d.addf(l, "must be one of %s, got %q", quoteList(allowed), s)
			}
		}
	case reflect.Int:
		n, ok := v.(int64)
		if !ok {
			d.addf(l, "must be an integer, got %s", describe(v))
			return
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			d.addf(l, "integer %d is out of range", n)
			return
		}
		fv.SetInt(n)
		d.checkRange(fv, l, tag)
	case reflect.Float64:
		switch x := v.(type) {
		case int64:
			fv.SetFloat(float64(x))
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				d.addf(l, "must be a finite number, got %v", x)
				return
			}
			fv.SetFloat(x)
		default:
			d.addf(l, "must be a number, got %s", describe(v))
			return
		}
		d.checkRange(fv, l, tag)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.addf(l, "must be a boolean (true or false), got %s", describe(v))
			return
		}
		fv.SetBool(b)
	case reflect.Map: // free-form table (plugin config)
		m, ok := v.(map[string]any)
		if !ok {
			d.addf(l, "must be a table, got %s", describe(v))
			return
		}
		fv.Set(reflect.ValueOf(m))
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.addf(l, "must be a table, got %s", describe(v))
			return
		}
		d.decodeStruct(m, fv, l)
	case reflect.Slice:
		d.decodeSlice(v, fv, l)
	default:
		panic("config: unsupported field type " + fv.Type().String())
	}
}

func (d *decoder) decodeSlice(v any, fv reflect.Value, l loc) {
	et := fv.Type().Elem()
	switch et.Kind() {
	case reflect.Struct:
		var tables []map[string]any
		switch x := v.(type) {
		case []map[string]any:
			tables = x
		case []any:
			for i, e := range x {
				m, ok := e.(map[string]any)
				if !ok {
					d.addf(l.index(i, ""), "must be a table, got %s", describe(e))
					continue
				}
				tables = append(tables, m)
			}
		default:
			d.addf(l, "must be an array of tables ([[%s]]), got %s", stripIndexes(l.raw), describe(v))
			return
		}
		out := reflect.MakeSlice(fv.Type(), 0, len(tables))
		for i, m := range tables {
			name, _ := m["name"].(string)
			el := l.index(i, name)
			ev := reflect.New(et).Elem()
			ev.Set(cloneValue(reflect.ValueOf(elementDefault(et))))
			if lf := ev.FieldByName("Line"); lf.IsValid() {
				lf.SetInt(int64(lookupLine(d.lines, el.raw)))
			}
			d.decodeStruct(m, ev, el)
			out = reflect.Append(out, ev)
		}
		fv.Set(out)
	case reflect.String:
		arr, ok := v.([]any)
		if !ok {
			d.addf(l, "must be an array of strings, got %s", describe(v))
			return
		}
		out := make([]string, 0, len(arr))
		for i, e := range arr {
			s, ok := e.(string)
			if !ok {
				d.addf(l.index(i, ""), "must be a string, got %s", describe(e))
				continue
			}
			out = append(out, s)
		}
		fv.Set(reflect.ValueOf(out))
	case reflect.Interface: // raw values (bind values of a query)
		arr, ok := v.([]any)
		if !ok {
			d.addf(l, "must be an array, got %s", describe(v))
			return
		}
		fv.Set(reflect.ValueOf(arr))
	default:
		panic("config: unsupported slice type " + fv.Type().String())
	}
}

// stripIndexes turns "stream[0].plugin" into "stream.plugin".
func stripIndexes(raw string) string {
	var b strings.Builder
	skip := false
	for _, r := range raw {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func elementDefault(t reflect.Type) any {
	switch t {
	case reflect.TypeFor[Stream]():
		return defaults.Stream
	case reflect.TypeFor[Plugin]():
		return defaults.Plugin
	case reflect.TypeFor[Sink]():
		return defaults.Sink
	}
	panic("config: no default for " + t.String())
}

// cloneValue deep-copies slices and maps so a decoded Config never shares
// memory with the defaults.
func cloneValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if out.Field(i).CanSet() {
				out.Field(i).Set(cloneValue(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(cloneValue(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			out.SetMapIndex(it.Key(), cloneValue(it.Value()))
		}
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(cloneValue(v.Elem()))
		return out
	}
	return v
}

// checkRange checks the min and max tags of a numeric, duration or size
// field.
func (d *decoder) checkRange(fv reflect.Value, l loc, tag reflect.StructTag) {
	lo, hasLo := tag.Lookup("min")
	hi, hasHi := tag.Lookup("max")
	if !hasLo && !hasHi {
		return
	}
	val, render := rangeValue(fv)
	bound := func(s string) float64 {
		b, err := parseBound(fv, s)
		if err != nil {
			panic(fmt.Sprintf("config: bad bound %q on %s: %v", s, l.raw, err))
		}
		return b
	}
	switch {
	case hasLo && hasHi && (val < bound(lo) || val > bound(hi)):
		d.addf(l, "must be between %s and %s, got %s", lo, hi, render)
	case hasLo && !hasHi && val < bound(lo):
		d.addf(l, "must be at least %s, got %s", lo, render)
	case hasHi && !hasLo && val > bound(hi):
		d.addf(l, "must be at most %s, got %s", hi, render)
	}
}

func rangeValue(fv reflect.Value) (float64, string) {
	switch {
	case fv.Type() == durationType:
		return float64(fv.Int()), formatDuration(time.Duration(fv.Int()))
	case fv.Type() == reflect.TypeFor[ByteSize]():
		return float64(fv.Int()), ByteSize(fv.Int()).String()
	case fv.Kind() == reflect.Float64:
		return fv.Float(), strconv.FormatFloat(fv.Float(), 'g', -1, 64)
	default:
		return float64(fv.Int()), strconv.FormatInt(fv.Int(), 10)
	}
}

func parseBound(fv reflect.Value, s string) (float64, error) {
	switch {
	case fv.Type() == durationType:
		d, err := time.ParseDuration(s)
		return float64(d), err
	case fv.Type() == reflect.TypeFor[ByteSize]():
		if s == "0" {
			return 0, nil
		}
		b, err := ParseByteSize(s)
		return float64(b), err
	default:
		return strconv.ParseFloat(s, 64)
	}
}

// formatDuration renders a duration the way it would be written in the
// file: "5m" rather than "5m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}
