package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Reference renders the reference of every key (type, default, allowed
// values, description) as Markdown tables, one per TOML table, from the
// struct tags of config.go and the defaults variable. docs/config.md embeds
// it between generated-section markers; `sluice check --keys` may print it.
func Reference() string {
	var b strings.Builder
	type table struct {
		header string // "[cassandra]", "[[stream]]"
		t      reflect.Type
		def    reflect.Value
		doc    string
	}
	var walk func(tb table)
	walk = func(tb table) {
		fmt.Fprintf(&b, "### `%s`\n\n", tb.header)
		if tb.doc != "" {
			fmt.Fprintf(&b, "%s\n\n", tb.doc)
		}
		b.WriteString("| key | type | default | allowed | description |\n|---|---|---|---|---|\n")
		var subs []table
		name := strings.Trim(tb.header, "[]")
		for _, f := range fieldsOf(tb.t) {
			sf := tb.t.Field(f.index)
			fv := tb.def.Field(f.index)
			ft := sf.Type
			doc := f.tag.Get("doc")
			switch {
			case ft.Kind() == reflect.Struct && !ft.Implements(decoderType) && !reflect.PointerTo(ft).Implements(decoderType):
				subs = append(subs, table{"[" + name + "." + f.name + "]", ft, fv, doc})
				continue
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				subs = append(subs, table{"[[" + name + "." + f.name + "]]", ft.Elem(), reflect.ValueOf(elementDefault(ft.Elem())), doc})
				continue
			}
			def := renderDefault(fv)
			if f.tag.Get("required") == "true" {
				def = "required"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.name, typeName(ft), def, allowed(f.tag), escapeCell(doc))
		}
		b.WriteString("\n")
		for _, s := range subs {
			walk(s)
		}
	}
	ct := reflect.TypeFor[Config]()
	cv := reflect.ValueOf(defaults.Config)
	for _, f := range fieldsOf(ct) {
		ft := ct.Field(f.index).Type
		tb := table{"[" + f.name + "]", ft, cv.Field(f.index), f.tag.Get("doc")}
		if ft.Kind() == reflect.Slice {
			tb = table{"[[" + f.name + "]]", ft.Elem(), reflect.ValueOf(elementDefault(ft.Elem())), f.tag.Get("doc")}
		}
		walk(tb)
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func typeName(t reflect.Type) string {
	switch t {
	case durationType:
		return "duration"
	case reflect.TypeFor[ByteSize]():
		return "size"
	case reflect.TypeFor[Consistency]():
		return "consistency"
	case reflect.TypeFor[Shard]():
		return "shard"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Map:
		return "table"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "array of strings"
		}
		return "array"
	}
	return t.String()
}

func allowed(tag reflect.StructTag) string {
	if e := tag.Get("enum"); e != "" {
		var q []string
		for _, v := range strings.Split(e, ",") {
			q = append(q, "`"+strconv.Quote(v)+"`")
		}
		return strings.Join(q, ", ")
	}
	lo, hasLo := tag.Lookup("min")
	hi, hasHi := tag.Lookup("max")
	switch {
	case hasLo && hasHi:
		return lo + " – " + hi
	case hasLo:
		return "≥ " + lo
	case hasHi:
		return "≤ " + hi
	}
	return ""
}

// renderDefault renders a default value as it would be written in TOML,
// in backquotes.
func renderDefault(v reflect.Value) string {
	return "`" + renderTOML(v) + "`"
}

func renderTOML(v reflect.Value) string {
	var s string
	switch {
	case v.Type() == durationType:
		if v.Int() == 0 {
			s = `"0s"`
		} else {
			s = strconv.Quote(formatDuration(time.Duration(v.Int())))
		}
	case v.Type() == reflect.TypeFor[ByteSize]():
		if v.Int() == 0 {
			s = `""`
		} else {
			s = strconv.Quote(ByteSize(v.Int()).String())
		}
	case v.Type() == reflect.TypeFor[Shard]():
		s = strconv.Quote(v.Interface().(Shard).String())
	case v.Kind() == reflect.String:
		s = strconv.Quote(v.String())
	case v.Kind() == reflect.Int:
		s = strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.Float64:
		s = strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case v.Kind() == reflect.Bool:
		s = strconv.FormatBool(v.Bool())
	case v.Kind() == reflect.Map:
		s = "{}"
	case v.Kind() == reflect.Slice:
		var parts []string
		for i := 0; i < v.Len(); i++ {
			parts = append(parts, renderTOML(v.Index(i)))
		}
		s = "[" + strings.Join(parts, ", ") + "]"
	case v.Kind() == reflect.Interface:
		s = fmt.Sprint(v.Interface())
	default:
		s = fmt.Sprint(v.Interface())
	}
	return s
}

func escapeCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
