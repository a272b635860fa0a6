package abi

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseType parses a CQL type as Type.String writes it, for fixtures and
// configuration: "int", "text", "varchar", "list<int>",
// "map<text, frozen<list<int>>>", "tuple<int, text>", "vector<float, 3>",
// "'org.example.MyType'" (a custom type). frozen<...> is accepted and
// ignored. A UDT is written with its fields in braces, an extension of CQL
// syntax since a UDT's name alone does not tell its fields:
// "ks.address{street text, zip int}" (keyspace optional, names quoted with
// double quotes when needed).
func ParseType(s string) (Type, error) {
	p := typeParser{s: s}
	t, err := p.parse(1)
	if err != nil {
		return Type{}, err
	}
	p.space()
	if p.i != len(p.s) {
		return Type{}, p.errf("unexpected %q after the type", p.s[p.i:])
	}
	return t, nil
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) errf(format string, args ...any) error {
	return errf("type %q at offset %d: %s", p.s, p.i, fmt.Sprintf(format, args...))
}

func (p *typeParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *typeParser) peek() byte {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *typeParser) expect(c byte) error {
	if p.peek() != c {
		return p.errf("want %q", string(c))
	}
	p.i++
	return nil
}

// ident reads a plain identifier (letters, digits, _) or a double-quoted
// one; plain identifiers are lowercased as CQL does.
func (p *typeParser) ident() (string, error) {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var sb strings.Builder
		p.i++
		for p.i < len(p.s) {
			c := p.s[p.i]
			p.i++
			if c == '"' {
				if p.i < len(p.s) && p.s[p.i] == '"' {
					sb.WriteByte('"')
					p.i++
					continue
				}
				return sb.String(), nil
			}
			sb.WriteByte(c)
		}
		return "", p.errf("unterminated quoted identifier")
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9' {
			p.i++
			continue
		}
		break
	}
	if p.i == start {
		return "", p.errf("want a type name")
	}
	return strings.ToLower(p.s[start:p.i]), nil
}

var scalarByName = map[string]TypeID{
	"ascii": TypeASCII, "bigint": TypeBigint, "blob": TypeBlob, "boolean": TypeBoolean,
	"counter": TypeCounter, "decimal": TypeDecimal, "double": TypeDouble, "float": TypeFloat,
	"int": TypeInt, "timestamp": TypeTimestamp, "uuid": TypeUUID, "varchar": TypeVarchar,
	"text": TypeVarchar, "varint": TypeVarint, "timeuuid": TypeTimeUUID, "inet": TypeInet,
	"date": TypeDate, "time": TypeTime, "smallint": TypeSmallint, "tinyint": TypeTinyint,
	"duration": TypeDuration,
}

func (p *typeParser) parse(depth int) (Type, error) {
	if depth > MaxTypeDepth {
		return Type{}, p.errf("nested deeper than %d levels", MaxTypeDepth)
	}
	if p.peek() == '\'' {
		p.i++
		var sb strings.Builder
		for p.i < len(p.s) {
			c := p.s[p.i]
			p.i++
			if c == '\'' {
				if p.i < len(p.s) && p.s[p.i] == '\'' {
					sb.WriteByte('\'')
					p.i++
					continue
				}
				return CustomOf(sb.String()), nil
			}
			sb.WriteByte(c)
		}
		return Type{}, p.errf("unterminated custom type class")
	}
	quoted := p.peek() == '"'
	name, err := p.ident()
	if err != nil {
		return Type{}, err
	}
	if !quoted {
		if id, ok := scalarByName[name]; ok && p.peek() != '.' && p.peek() != '{' {
			return Type{ID: id}, nil
		}
	}
	args := func(n int) ([]Type, error) {
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		var ts []Type
		for {
			t, err := p.parse(depth + 1)
			if err != nil {
				return nil, err
			}
			ts = append(ts, t)
			if p.peek() == ',' && (n < 0 || len(ts) < n) {
				p.i++
				continue
			}
			break
		}
		if n >= 0 && len(ts) != n {
			return nil, p.errf("%s needs %d type arguments, got %d", name, n, len(ts))
		}
		return ts, p.expect('>')
	}
	if !quoted {
		switch name {
		case "frozen":
			ts, err := args(1)
			if err != nil {
				return Type{}, err
			}
			return ts[0], nil
		case "list", "set":
			ts, err := args(1)
			if err != nil {
				return Type{}, err
			}
			if name == "list" {
				return ListOf(ts[0]), nil
			}
			return SetOf(ts[0]), nil
		case "map":
			ts, err := args(2)
			if err != nil {
				return Type{}, err
			}
			return MapOf(ts[0], ts[1]), nil
		case "tuple":
			ts, err := args(-1)
			if err != nil {
				return Type{}, err
			}
			return TupleOf(ts...), nil
		case "vector":
			if err := p.expect('<'); err != nil {
				return Type{}, err
			}
			e, err := p.parse(depth + 1)
			if err != nil {
				return Type{}, err
			}
			if err := p.expect(','); err != nil {
				return Type{}, err
			}
			p.space()
			start := p.i
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
				p.i++
			}
			d, err := strconv.ParseUint(p.s[start:p.i], 10, 32)
			if err != nil || d == 0 {
				return Type{}, p.errf("vector dimensions must be an integer in 1..4294967295")
			}
			if err := p.expect('>'); err != nil {
				return Type{}, err
			}
			return VectorOf(e, int(d)), nil
		}
	}
	// A UDT: [keyspace.]name{field type, ...}
	ks := ""
	if p.peek() == '.' {
		p.i++
		ks = name
		if name, err = p.ident(); err != nil {
			return Type{}, err
		}
	}
	if p.peek() != '{' {
		return Type{}, p.errf("unknown type %q (a user-defined type needs its fields: %s{field type, ...})", name, name)
	}
	p.i++
	var fields []string
	var types []Type
	for p.peek() != '}' {
		if len(fields) > 0 {
			if err := p.expect(','); err != nil {
				return Type{}, err
			}
		}
		f, err := p.ident()
		if err != nil {
			return Type{}, err
		}
		ft, err := p.parse(depth + 1)
		if err != nil {
			return Type{}, err
		}
		fields = append(fields, f)
		types = append(types, ft)
	}
	p.i++
	return UDTOf(ks, name, fields, types), nil
}

// Describe returns t in the syntax ParseType reads: String, except that a
// UDT lists its fields in braces ("ks.address{street text, zip int}").
func (t Type) Describe() string {
	var sb strings.Builder
	t.writeCQLFull(&sb, false, true)
	return sb.String()
}
