package cqltype

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/abi"
)

// MarshalPrefix is the package of Cassandra's own types; the native protocol
// names a type it has no option id for by its class, e.g.
// "org.apache.cassandra.db.marshal.FrozenType(org.apache.cassandra.db.marshal.ListType(org.apache.cassandra.db.marshal.Int32Type))".
const MarshalPrefix = "org.apache.cassandra.db.marshal."

// nativeClasses maps the marshal classes of CQL's native types to their ids
// (Cassandra 5.0, CQL3Type.Native). DateType is the timestamp of old tables.
var nativeClasses = map[string]abi.TypeID{
	"AsciiType": abi.TypeASCII, "LongType": abi.TypeBigint, "BytesType": abi.TypeBlob,
	"BooleanType": abi.TypeBoolean, "CounterColumnType": abi.TypeCounter, "SimpleDateType": abi.TypeDate,
	"DecimalType": abi.TypeDecimal, "DoubleType": abi.TypeDouble, "DurationType": abi.TypeDuration,
	"FloatType": abi.TypeFloat, "InetAddressType": abi.TypeInet, "Int32Type": abi.TypeInt,
	"ShortType": abi.TypeSmallint, "UTF8Type": abi.TypeVarchar, "TimeType": abi.TypeTime,
	"TimestampType": abi.TypeTimestamp, "DateType": abi.TypeTimestamp, "TimeUUIDType": abi.TypeTimeUUID,
	"ByteType": abi.TypeTinyint, "UUIDType": abi.TypeUUID, "IntegerType": abi.TypeVarint,
}

// compositeClasses are the marshal classes whose parameters are types
// sluice reads (everything else is a custom type, parameters and all).
var compositeClasses = map[string]bool{
	"ListType": true, "SetType": true, "MapType": true, "TupleType": true, "UserType": true,
	"VectorType": true, "FrozenType": true, "ReversedType": true,
}

// customClasses are Cassandra's own marshal classes that CQL has no native
// type for: a column of one of them is a custom type (base64 in JSON). The
// driver must know a class by name to parse result metadata, so each is
// registered (see Types); a class outside this list and outside
// org.apache.cassandra.db.marshal is refused by the driver (see
// docs/json.md, "Custom types").
var customClasses = []string{
	"LexicalUUIDType", "DynamicCompositeType", "CompositeType", "EmptyType",
	"ColumnToCollectionType", "PartitionerDefinedOrder", "LegacyTimeUUIDType",
}

// Parse parses one Cassandra type string, in either of the two forms
// Cassandra writes: a marshal class as the native protocol and the vector
// type's parameters carry it ("org.apache.cassandra.db.marshal.Int32Type",
// "...ListType(...)", "...UserType(ks,hexname,hexfield:type,...)",
// "...FrozenType(...)", "...VectorType(type,dimensions)"), or CQL as
// system_schema writes it ("int", "frozen<list<int>>",
// "vector<float, 3>", "'org.example.MyType'"). FrozenType and ReversedType
// are transparent. A class that is not one of CQL's types is a custom type
// named by the full class string, parameters included, so that every type
// a table can hold has a descriptor. A user-defined type written by name in
// CQL form ("frozen<address>") is refused: its fields are not in the
// string.
func Parse(s string) (abi.Type, error) {
	s = strings.TrimSpace(s)
	var t abi.Type
	var err error
	if isClassForm(s) {
		p := classParser{s: s}
		t, err = p.parse(1)
		if err == nil {
			p.space()
			if p.i != len(p.s) {
				err = p.errf("unexpected %q after the type", p.s[p.i:])
			}
		}
	} else {
		t, err = abi.ParseType(s)
	}
	if err != nil {
		return abi.Type{}, fmt.Errorf("type %q: %w", truncate(s, 200), err)
	}
	if err := t.Validate(); err != nil {
		return abi.Type{}, fmt.Errorf("type %q: %w", truncate(s, 200), err)
	}
	return t, nil
}

// isClassForm reports whether s is a marshal class string rather than CQL:
// its leading name is qualified (has a dot) or is a marshal class name.
func isClassForm(s string) bool {
	if strings.HasPrefix(s, "'") {
		return false
	}
	end := strings.IndexAny(s, "(<, ")
	if end < 0 {
		end = len(s)
	}
	name := s[:end]
	if strings.Contains(name, ".") {
		return true
	}
	if _, ok := nativeClasses[name]; ok {
		return true
	}
	for _, c := range customClasses {
		if name == c {
			return true
		}
	}
	return compositeClasses[name] || end < len(s) && s[end] == '('
}

type classParser struct {
	s string
	i int
}

func (p *classParser) errf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *classParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *classParser) peek() byte {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *classParser) expect(c byte) error {
	if p.peek() != c {
		if p.i >= len(p.s) {
			return p.errf("want %q, got the end", c)
		}
		return p.errf("want %q, got %q", c, p.s[p.i])
	}
	p.i++
	return nil
}

func isNameByte(c byte) bool {
	return c == '.' || c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// word reads a run of name bytes.
func (p *classParser) word() string {
	p.space()
	start := p.i
	for p.i < len(p.s) && isNameByte(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// raw returns the text of a balanced parenthesized group starting at '('
// (both parentheses included), for the parameters of a custom class.
func (p *classParser) raw() (string, error) {
	start, depth := p.i, 0
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				p.i++
				return p.s[start:p.i], nil
			}
		}
		p.i++
	}
	return "", p.errf("unbalanced parentheses in the parameters of a custom type")
}

func (p *classParser) parse(depth int) (abi.Type, error) {
	if depth > abi.MaxTypeDepth {
		return abi.Type{}, p.errf("nested deeper than %d levels", abi.MaxTypeDepth)
	}
	name := p.word()
	if name == "" {
		if p.i >= len(p.s) {
			return abi.Type{}, p.errf("want a type, got the end")
		}
		return abi.Type{}, p.errf("want a type, got %q", p.s[p.i])
	}
	short := strings.TrimPrefix(name, MarshalPrefix)
	if id, ok := nativeClasses[short]; ok && !strings.Contains(short, ".") {
		return abi.Type{ID: id}, nil
	}
	if !compositeClasses[short] {
		// A custom type: the class and its parameters, verbatim, with the
		// package Cassandra omits for its own classes.
		class := name
		if !strings.Contains(class, ".") {
			class = MarshalPrefix + class
		}
		if p.peek() == '(' {
			params, err := p.raw()
			if err != nil {
				return abi.Type{}, err
			}
			class += params
		}
		return abi.CustomOf(class), nil
	}
	if err := p.expect('('); err != nil {
		return abi.Type{}, fmt.Errorf("%s: %w", short, err)
	}
	sub := func() (abi.Type, error) { return p.parse(depth + 1) }
	var t abi.Type
	switch short {
	case "ListType", "SetType", "FrozenType", "ReversedType":
		e, err := sub()
		if err != nil {
			return abi.Type{}, err
		}
		switch short {
		case "ListType":
			t = abi.ListOf(e)
		case "SetType":
			t = abi.SetOf(e)
		default:
			t = e
		}
	case "MapType":
		k, err := sub()
		if err != nil {
			return abi.Type{}, err
		}
		if err := p.expect(','); err != nil {
			return abi.Type{}, err
		}
		v, err := sub()
		if err != nil {
			return abi.Type{}, err
		}
		t = abi.MapOf(k, v)
	case "TupleType":
		var elems []abi.Type
		for {
			e, err := sub()
			if err != nil {
				return abi.Type{}, err
			}
			elems = append(elems, e)
			if p.peek() != ',' {
				break
			}
			p.i++
		}
		t = abi.TupleOf(elems...)
	case "VectorType":
		e, err := sub()
		if err != nil {
			return abi.Type{}, err
		}
		if err := p.expect(','); err != nil {
			return abi.Type{}, err
		}
		w := p.word()
		d, err := strconv.ParseUint(w, 10, 32)
		if err != nil || d == 0 {
			return abi.Type{}, p.errf("vector dimensions %q: want an integer in 1..4294967295", w)
		}
		t = abi.VectorOf(e, int(d))
	case "UserType":
		ks := p.word()
		if ks == "" {
			return abi.Type{}, p.errf("UserType: want a keyspace")
		}
		if err := p.expect(','); err != nil {
			return abi.Type{}, err
		}
		name, err := p.hexName("UserType name")
		if err != nil {
			return abi.Type{}, err
		}
		var fields []string
		var types []abi.Type
		for p.peek() == ',' {
			p.i++
			f, err := p.hexName("UserType field name")
			if err != nil {
				return abi.Type{}, err
			}
			if err := p.expect(':'); err != nil {
				return abi.Type{}, err
			}
			ft, err := sub()
			if err != nil {
				return abi.Type{}, err
			}
			fields = append(fields, f)
			types = append(types, ft)
		}
		t = abi.UDTOf(ks, name, fields, types)
	}
	if err := p.expect(')'); err != nil {
		return abi.Type{}, fmt.Errorf("%s: %w", short, err)
	}
	return t, nil
}

// hexName reads a hex-encoded UTF-8 name (UserType's name and field names).
func (p *classParser) hexName(what string) (string, error) {
	p.space()
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("0123456789abcdefABCDEF", p.s[p.i]) >= 0 {
		p.i++
	}
	b, err := hex.DecodeString(p.s[start:p.i])
	if err != nil || len(b) == 0 {
		return "", p.errf("%s: want a non-empty hex-encoded name, got %q", what, p.s[start:p.i])
	}
	if !utf8.Valid(b) {
		return "", p.errf("%s: %x is not UTF-8", what, b)
	}
	return string(b), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// splitTop splits s at its top-level commas: commas inside <>, () or a
// quoted string do not count, and the '>' of a DynamicCompositeType alias
// ("s=>...") closes nothing. The parts are trimmed.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			for i++; i < len(s); i++ {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						i++
						continue
					}
					break
				}
			}
		case '<', '(':
			depth++
		case '>':
			if i > 0 && s[i-1] == '=' {
				continue
			}
			depth--
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}

// vectorElemClasses are the custom classes whose layout inside a vector
// sluice knows (Cassandra's valueLengthIfFixed): LexicalUUIDType is 16
// bytes, unframed; the composites are variable, each element prefixed by
// its length.
var vectorElemClasses = map[string]bool{
	MarshalPrefix + "LexicalUUIDType": true, MarshalPrefix + "DynamicCompositeType": true, MarshalPrefix + "CompositeType": true,
}

// CheckVectors refuses a vector (anywhere in t) of a custom class whose
// layout in a vector sluice does not know: Cassandra frames the elements
// of a vector or not depending on whether the class has a fixed length,
// which the class name alone does not say, so its cells could not be split
// into elements (docs/json.md, "Which types reach sluice").
func CheckVectors(t abi.Type) error {
	if t.ID == abi.TypeVector && len(t.Elems) == 1 && t.Elems[0].ID == abi.TypeCustom {
		class := t.Elems[0].Name
		if i := strings.IndexByte(class, '('); i >= 0 {
			class = class[:i]
		}
		if !vectorElemClasses[class] {
			return fmt.Errorf("%s: a vector of custom type %s is not supported: sluice cannot tell whether Cassandra gives its values a fixed length, so it could not split the vector into elements (supported custom elements: LexicalUUIDType, DynamicCompositeType, CompositeType)", t, t.Elems[0].Name)
		}
	}
	for _, e := range t.Elems {
		if err := CheckVectors(e); err != nil {
			return err
		}
	}
	return nil
}
