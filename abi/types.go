package abi

import (
	"fmt"
	"strconv"
	"strings"
)

// TypeID is a CQL type id: the native protocol v5 [option] id (section 6 of
// native_protocol_v5.spec), plus TypeVector, an id of sluice's own for the
// vector type that Cassandra sends as a custom type.
type TypeID uint16

// Type ids. The values are those of the native protocol, so a descriptor
// can be copied from Cassandra's result metadata.
const (
	TypeCustom    TypeID = 0x0000
	TypeASCII     TypeID = 0x0001
	TypeBigint    TypeID = 0x0002
	TypeBlob      TypeID = 0x0003
	TypeBoolean   TypeID = 0x0004
	TypeCounter   TypeID = 0x0005
	TypeDecimal   TypeID = 0x0006
	TypeDouble    TypeID = 0x0007
	TypeFloat     TypeID = 0x0008
	TypeInt       TypeID = 0x0009
	TypeTimestamp TypeID = 0x000B
	TypeUUID      TypeID = 0x000C
	TypeVarchar   TypeID = 0x000D // text and varchar are the same type
	TypeVarint    TypeID = 0x000E
	TypeTimeUUID  TypeID = 0x000F
	TypeInet      TypeID = 0x0010
	TypeDate      TypeID = 0x0011
	TypeTime      TypeID = 0x0012
	TypeSmallint  TypeID = 0x0013
	TypeTinyint   TypeID = 0x0014
	TypeDuration  TypeID = 0x0015
	TypeList      TypeID = 0x0020
	TypeMap       TypeID = 0x0021
	TypeSet       TypeID = 0x0022
	TypeUDT       TypeID = 0x0030
	TypeTuple     TypeID = 0x0031
	TypeVector    TypeID = 0x0050
)

// TypeText is an alias of TypeVarchar: CQL text and varchar are one type.
const TypeText = TypeVarchar

// MaxTypeDepth is the deepest nesting of type descriptors DecodeTypeDesc
// accepts (a scalar has depth 1, list<int> depth 2).
const MaxTypeDepth = 32

var typeNames = map[TypeID]string{
	TypeCustom: "custom", TypeASCII: "ascii", TypeBigint: "bigint", TypeBlob: "blob",
	TypeBoolean: "boolean", TypeCounter: "counter", TypeDecimal: "decimal",
	TypeDouble: "double", TypeFloat: "float", TypeInt: "int", TypeTimestamp: "timestamp",
	TypeUUID: "uuid", TypeVarchar: "text", TypeVarint: "varint", TypeTimeUUID: "timeuuid",
	TypeInet: "inet", TypeDate: "date", TypeTime: "time", TypeSmallint: "smallint",
	TypeTinyint: "tinyint", TypeDuration: "duration", TypeList: "list", TypeMap: "map",
	TypeSet: "set", TypeUDT: "udt", TypeTuple: "tuple", TypeVector: "vector",
}

// String returns the CQL name of the id ("int", "text", "list", "udt", ...)
// or "type(0xNNNN)" for an unknown id.
func (id TypeID) String() string {
	if s, ok := typeNames[id]; ok {
		return s
	}
	return fmt.Sprintf("type(0x%04X)", uint16(id))
}

// Known reports whether id is one of the ids of ABI v1.
func (id TypeID) Known() bool {
	_, ok := typeNames[id]
	return ok
}

// Type is a CQL type. Scalars use only ID. Composite types:
//
//	list, set:  Elems = [elem]
//	map:        Elems = [key, value]
//	tuple:      Elems = component types
//	udt:        Keyspace, Name, Fields (field names) and Elems (field types), same length
//	vector:     Elems = [elem], Dim = dimensions (>= 1)
//	custom:     Name = the Cassandra class name
//
// A Type is a value; treat its slices as immutable once shared.
type Type struct {
	ID       TypeID
	Elems    []Type   // list/set/vector: [elem]; map: [key, value]; tuple: elems; udt: field types
	Fields   []string // udt field names
	Keyspace string   // udt keyspace
	Name     string   // udt name, or custom class
	Dim      int      // vector dimensions
}

// Convenience constructors for composite types.

// ListOf returns list<elem>.
func ListOf(elem Type) Type { return Type{ID: TypeList, Elems: []Type{elem}} }

// SetOf returns set<elem>.
func SetOf(elem Type) Type { return Type{ID: TypeSet, Elems: []Type{elem}} }

// MapOf returns map<key, value>.
func MapOf(key, value Type) Type { return Type{ID: TypeMap, Elems: []Type{key, value}} }

// TupleOf returns tuple<elems...>.
func TupleOf(elems ...Type) Type { return Type{ID: TypeTuple, Elems: elems} }

// VectorOf returns vector<elem, dim>.
func VectorOf(elem Type, dim int) Type { return Type{ID: TypeVector, Elems: []Type{elem}, Dim: dim} }

// UDTOf returns the user-defined type keyspace.name with the given fields
// and field types (same length).
func UDTOf(keyspace, name string, fields []string, types []Type) Type {
	return Type{ID: TypeUDT, Keyspace: keyspace, Name: name, Fields: fields, Elems: types}
}

// CustomOf returns the custom type with the given Cassandra class name.
func CustomOf(class string) Type { return Type{ID: TypeCustom, Name: class} }

// Validate reports whether t is well formed: a known id, the right number
// of element types for its id, udt field names matching the field types,
// vector dimensions >= 1, and nesting no deeper than MaxTypeDepth.
// AppendTypeDesc panics on a type that fails Validate.
func (t Type) Validate() error { return t.validate(1) }

func (t Type) validate(depth int) error {
	if depth > MaxTypeDepth {
		return limitf("type nested deeper than %d levels", MaxTypeDepth)
	}
	want := -1
	switch t.ID {
	case TypeList, TypeSet, TypeVector:
		want = 1
	case TypeMap:
		want = 2
	case TypeTuple:
		if len(t.Elems) == 0 {
			return errf("tuple with no components")
		}
		if len(t.Elems) > 0xFFFF {
			return errf("tuple with %d components (at most 65535)", len(t.Elems))
		}
	case TypeUDT:
		if len(t.Fields) != len(t.Elems) {
			return errf("udt %s has %d field names but %d field types", t.Name, len(t.Fields), len(t.Elems))
		}
		if len(t.Elems) == 0 {
			return errf("udt %s with no fields", t.Name)
		}
		if len(t.Elems) > 0xFFFF {
			return errf("udt %s with %d fields (at most 65535)", t.Name, len(t.Elems))
		}
	default:
		if !t.ID.Known() {
			return errf("unknown type id 0x%04X", uint16(t.ID))
		}
		want = 0
	}
	if want >= 0 && len(t.Elems) != want {
		return errf("%s needs %d element types, has %d", t.ID, want, len(t.Elems))
	}
	if t.ID == TypeVector && (t.Dim < 1 || uint64(t.Dim) > 0xFFFFFFFF) {
		return errf("vector dimensions %d out of range 1..4294967295", t.Dim)
	}
	for i := range t.Elems {
		if err := t.Elems[i].validate(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// Equal reports whether t and u are the same type (same id, element types,
// udt keyspace, name and field names, custom class and vector dimensions).
func (t Type) Equal(u Type) bool {
	if t.ID != u.ID || t.Dim != u.Dim || t.Name != u.Name || t.Keyspace != u.Keyspace ||
		len(t.Elems) != len(u.Elems) || len(t.Fields) != len(u.Fields) {
		return false
	}
	for i := range t.Fields {
		if t.Fields[i] != u.Fields[i] {
			return false
		}
	}
	for i := range t.Elems {
		if !t.Elems[i].Equal(u.Elems[i]) {
			return false
		}
	}
	return true
}

// IsCollection reports whether t is a list, set or map.
func (t Type) IsCollection() bool {
	return t.ID == TypeList || t.ID == TypeSet || t.ID == TypeMap
}

// FixedLen returns the length in bytes of every non-empty value of t when
// Cassandra treats that length as fixed (AbstractType.valueLengthIfFixed in
// Cassandra 5.0: boolean 1, int and float 4, bigint, double and timestamp
// 8, uuid and timeuuid 16, a vector of a fixed-length type dim times the
// element length), else -1. It decides the cell layout of vectors. Note
// that tinyint, smallint, date, time and counter are not fixed-length in
// this sense (checked against Cassandra 5.0.8: vector<tinyint, 2> [1, -2]
// is 01 01 01 fe). Of the custom types, LexicalUUIDType is fixed at 16
// bytes (a vector of two is 32 bytes, unframed).
func (t Type) FixedLen() int {
	switch t.ID {
	case TypeCustom:
		if t.Name == "org.apache.cassandra.db.marshal.LexicalUUIDType" {
			return 16
		}
	case TypeBoolean:
		return 1
	case TypeInt, TypeFloat:
		return 4
	case TypeBigint, TypeDouble, TypeTimestamp:
		return 8
	case TypeUUID, TypeTimeUUID:
		return 16
	case TypeVector:
		if len(t.Elems) == 1 && t.Dim > 0 {
			if n := t.Elems[0].FixedLen(); n >= 0 {
				return n * t.Dim
			}
		}
	}
	return -1
}

// String returns t in CQL syntax, e.g. "map<text, frozen<list<int>>>".
// Collections, tuples and udts nested inside another type are written
// frozen<...> (CQL requires it there); the top level is never written
// frozen because the native protocol does not say whether a column is.
// A udt is written keyspace.name (names quoted when CQL needs it), a custom
// type as its class name in single quotes.
func (t Type) String() string {
	var sb strings.Builder
	t.writeCQL(&sb, false)
	return sb.String()
}

func (t Type) writeCQL(sb *strings.Builder, nested bool) { t.writeCQLFull(sb, nested, false) }

func (t Type) writeCQLFull(sb *strings.Builder, nested, udtFields bool) {
	frozen := nested && (t.IsCollection() || t.ID == TypeUDT)
	if frozen {
		sb.WriteString("frozen<")
	}
	switch t.ID {
	case TypeList, TypeSet, TypeMap, TypeTuple:
		sb.WriteString(t.ID.String())
		sb.WriteByte('<')
		for i, e := range t.Elems {
			if i > 0 {
				sb.WriteString(", ")
			}
			e.writeCQLFull(sb, true, udtFields)
		}
		sb.WriteByte('>')
	case TypeVector:
		sb.WriteString("vector<")
		if len(t.Elems) > 0 {
			t.Elems[0].writeCQLFull(sb, true, udtFields)
		}
		sb.WriteString(", ")
		sb.WriteString(strconv.Itoa(t.Dim))
		sb.WriteByte('>')
	case TypeUDT:
		if t.Keyspace != "" {
			sb.WriteString(cqlIdent(t.Keyspace))
			sb.WriteByte('.')
		}
		sb.WriteString(cqlIdent(t.Name))
		if udtFields {
			sb.WriteByte('{')
			for i := range t.Elems {
				if i > 0 {
					sb.WriteString(", ")
				}
				if i < len(t.Fields) {
					sb.WriteString(cqlIdent(t.Fields[i]))
				}
				sb.WriteByte(' ')
				t.Elems[i].writeCQLFull(sb, false, udtFields)
			}
			sb.WriteByte('}')
		}
	case TypeCustom:
		sb.WriteByte('\'')
		sb.WriteString(strings.ReplaceAll(t.Name, "'", "''"))
		sb.WriteByte('\'')
	default:
		sb.WriteString(t.ID.String())
	}
	if frozen {
		sb.WriteByte('>')
	}
}

// cqlIdent quotes a CQL identifier unless it is lowercase alphanumeric
// starting with a letter.
func cqlIdent(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9'
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// Column is one column of a page: its name and CQL type.
type Column struct {
	Name string
	Type Type
}

// Schema is the ordered list of columns of a page or of a ROWS section.
// A Schema is immutable once a page refers to it; pages built from one
// schema share the pointer.
type Schema struct {
	Columns []Column
}

// NewSchema returns a schema of the given columns.
func NewSchema(cols ...Column) *Schema { return &Schema{Columns: cols} }

// Len returns the number of columns.
func (s *Schema) Len() int { return len(s.Columns) }

// Index returns the position of the column called name, or -1. Names are
// compared exactly (case-sensitive).
func (s *Schema) Index(name string) int {
	for i := range s.Columns {
		if s.Columns[i].Name == name {
			return i
		}
	}
	return -1
}

// Equal reports whether s and o have the same column names and types in the
// same order. Two nil schemas are equal.
func (s *Schema) Equal(o *Schema) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil || len(s.Columns) != len(o.Columns) {
		return false
	}
	for i := range s.Columns {
		if s.Columns[i].Name != o.Columns[i].Name || !s.Columns[i].Type.Equal(o.Columns[i].Type) {
			return false
		}
	}
	return true
}

// String returns the schema as "name type, name type, ...".
func (s *Schema) String() string {
	var sb strings.Builder
	for i, c := range s.Columns {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(c.Name)
		sb.WriteByte(' ')
		c.Type.writeCQL(&sb, false)
	}
	return sb.String()
}

// Validate checks every column type (see Type.Validate) and that column
// names are valid UTF-8 (they are encoded as str).
func (s *Schema) Validate() error {
	for i, c := range s.Columns {
		if err := c.Type.Validate(); err != nil {
			return fmt.Errorf("column %d %q: %w", i, c.Name, err)
		}
	}
	return nil
}

// EncodeTypeDesc returns the type descriptor of t (AppendTypeDesc(nil, t)).
func EncodeTypeDesc(t Type) []byte { return AppendTypeDesc(nil, t) }

// AppendTypeDesc appends the ABI type descriptor of t to dst:
//
//	u16 id, then per id:
//	custom: str class | list, set: elem | map: key, value
//	udt: str keyspace, str name, u16 n, n × (str field, type)
//	tuple: u16 n, n × type | vector: elem, u32 dimensions
//
// All integers little-endian. It panics if t fails Validate (a programming
// error: decoded types are always valid).
func AppendTypeDesc(dst []byte, t Type) []byte {
	if err := t.Validate(); err != nil {
		panic("abi: AppendTypeDesc: " + err.Error())
	}
	return appendTypeDesc(dst, t)
}

func appendTypeDesc(dst []byte, t Type) []byte {
	dst = appendU16(dst, uint16(t.ID))
	switch t.ID {
	case TypeCustom:
		dst = appendStr(dst, t.Name)
	case TypeList, TypeSet:
		dst = appendTypeDesc(dst, t.Elems[0])
	case TypeMap:
		dst = appendTypeDesc(dst, t.Elems[0])
		dst = appendTypeDesc(dst, t.Elems[1])
	case TypeUDT:
		dst = appendStr(dst, t.Keyspace)
		dst = appendStr(dst, t.Name)
		dst = appendU16(dst, uint16(len(t.Elems)))
		for i := range t.Elems {
			dst = appendStr(dst, t.Fields[i])
			dst = appendTypeDesc(dst, t.Elems[i])
		}
	case TypeTuple:
		dst = appendU16(dst, uint16(len(t.Elems)))
		for i := range t.Elems {
			dst = appendTypeDesc(dst, t.Elems[i])
		}
	case TypeVector:
		dst = appendTypeDesc(dst, t.Elems[0])
		dst = appendU32(dst, uint32(t.Dim))
	}
	return dst
}

// typeDescLen returns len(AppendTypeDesc(nil, t)) for a valid t.
func typeDescLen(t Type) int {
	n := 2
	switch t.ID {
	case TypeCustom:
		n += 4 + len(t.Name)
	case TypeList, TypeSet, TypeMap:
		for i := range t.Elems {
			n += typeDescLen(t.Elems[i])
		}
	case TypeUDT:
		n += 4 + len(t.Keyspace) + 4 + len(t.Name) + 2
		for i := range t.Elems {
			n += 4 + len(t.Fields[i]) + typeDescLen(t.Elems[i])
		}
	case TypeTuple:
		n += 2
		for i := range t.Elems {
			n += typeDescLen(t.Elems[i])
		}
	case TypeVector:
		n += typeDescLen(t.Elems[0]) + 4
	}
	return n
}

// DecodeTypeDesc decodes one type descriptor from the start of b and
// returns the type and the number of bytes it used. It rejects unknown ids,
// truncated input, invalid UTF-8 in names, vector dimensions of 0 and
// nesting deeper than MaxTypeDepth.
func DecodeTypeDesc(b []byte) (Type, int, error) {
	r := reader{b: b}
	t, err := decodeType(&r, 1)
	if err != nil {
		return Type{}, 0, prefixErr(err, "type descriptor")
	}
	return t, r.off, nil
}

// decodeType returns *DecodeError errors whose Msg is relative ("at byte N:
// ..."); callers prefix the context.
func decodeType(r *reader, depth int) (Type, error) {
	start := r.off
	if depth > MaxTypeDepth {
		return Type{}, &DecodeError{Msg: fmt.Sprintf("at byte %d: nested deeper than %d levels", start, MaxTypeDepth), Limit: true}
	}
	id16, ok := r.u16()
	if !ok {
		return Type{}, errf("at byte %d: truncated type id (%d bytes left, need 2)", start, r.left())
	}
	t := Type{ID: TypeID(id16)}
	str := func(what string) (string, error) {
		at := r.off
		s, n, res := r.str()
		switch res {
		case strShortLen:
			return "", errf("at byte %d: %s %s: truncated length (%d bytes left, need 4)", at, t.ID, what, r.left())
		case strShortBytes:
			return "", errf("at byte %d: %s %s: length %d beyond the %d bytes left", at, t.ID, what, n, r.left())
		case strBadUTF8:
			return "", errf("at byte %d: %s %s: not valid UTF-8", at, t.ID, what)
		}
		return s, nil
	}
	sub := func() (Type, error) { return decodeType(r, depth+1) }
	var err error
	switch t.ID {
	case TypeCustom:
		if t.Name, err = str("class"); err != nil {
			return Type{}, err
		}
	case TypeASCII, TypeBigint, TypeBlob, TypeBoolean, TypeCounter, TypeDecimal, TypeDouble,
		TypeFloat, TypeInt, TypeTimestamp, TypeUUID, TypeVarchar, TypeVarint, TypeTimeUUID,
		TypeInet, TypeDate, TypeTime, TypeSmallint, TypeTinyint, TypeDuration:
	case TypeList, TypeSet:
		e, err := sub()
		if err != nil {
			return Type{}, err
		}
		t.Elems = []Type{e}
	case TypeMap:
		k, err := sub()
		if err != nil {
			return Type{}, err
		}
		v, err := sub()
		if err != nil {
			return Type{}, err
		}
		t.Elems = []Type{k, v}
	case TypeUDT:
		if t.Keyspace, err = str("keyspace"); err != nil {
			return Type{}, err
		}
		if t.Name, err = str("name"); err != nil {
			return Type{}, err
		}
		at := r.off
		n, ok := r.u16()
		if !ok {
			return Type{}, errf("at byte %d: udt field count: truncated (%d bytes left, need 2)", at, r.left())
		}
		if n == 0 {
			return Type{}, errf("at byte %d: udt with no fields", at)
		}
		// Each field needs at least 4 (name length) + 2 (type id) bytes.
		if int(n)*6 > r.left() {
			return Type{}, errf("at byte %d: udt field count %d needs at least %d bytes, %d left", at, n, int(n)*6, r.left())
		}
		t.Fields = make([]string, n)
		t.Elems = make([]Type, n)
		for i := range int(n) {
			if t.Fields[i], err = str(fmt.Sprintf("field %d name", i)); err != nil {
				return Type{}, err
			}
			if t.Elems[i], err = sub(); err != nil {
				return Type{}, err
			}
		}
	case TypeTuple:
		at := r.off
		n, ok := r.u16()
		if !ok {
			return Type{}, errf("at byte %d: tuple component count: truncated (%d bytes left, need 2)", at, r.left())
		}
		if n == 0 {
			return Type{}, errf("at byte %d: tuple with no components", at)
		}
		if int(n)*2 > r.left() {
			return Type{}, errf("at byte %d: tuple component count %d needs at least %d bytes, %d left", at, n, int(n)*2, r.left())
		}
		t.Elems = make([]Type, n)
		for i := range int(n) {
			if t.Elems[i], err = sub(); err != nil {
				return Type{}, err
			}
		}
	case TypeVector:
		e, err := sub()
		if err != nil {
			return Type{}, err
		}
		t.Elems = []Type{e}
		at := r.off
		d, ok := r.u32()
		if !ok {
			return Type{}, errf("at byte %d: vector dimensions: truncated (%d bytes left, need 4)", at, r.left())
		}
		if d == 0 {
			return Type{}, errf("at byte %d: vector dimensions 0 (must be >= 1)", at)
		}
		t.Dim = int(d)
	default:
		return Type{}, errf("at byte %d: unknown type id 0x%04X", start, id16)
	}
	return t, nil
}
