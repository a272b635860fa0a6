package cqltype

import (
	"fmt"
	"sync"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
)

// Custom is the driver type of a custom column (any class CQL has no
// native type for), named by its full class string with its parameters.
// sluice never decodes one: its cells are captured and written as raw
// bytes, rendered as base64 in JSON.
type Custom struct{ Class string }

// Type returns gocql.TypeCustom.
func (Custom) Type() gocql.Type { return gocql.TypeCustom }

// Zero returns a nil []byte.
func (Custom) Zero() any { return []byte(nil) }

// String returns the class.
func (c Custom) String() string { return c.Class }

// Marshal accepts a []byte (the value's bytes) or nil.
func (c Custom) Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return x, nil
	}
	return nil, fmt.Errorf("can not marshal %T into custom type %s: give its bytes as []byte", v, c.Class)
}

// Unmarshal copies the bytes into a *[]byte or *any.
func (c Custom) Unmarshal(data []byte, v any) error {
	var b []byte
	if data != nil {
		b = append([]byte{}, data...)
	}
	switch x := v.(type) {
	case *[]byte:
		*x = b
		return nil
	case *any:
		*x = b
		return nil
	}
	return fmt.Errorf("can not unmarshal custom type %s into %T", c.Class, v)
}

// Types returns a new driver type registry for a session
// (gocql.ClusterConfig.RegisteredTypes) in which every type string
// Cassandra can send is parsed by Parse, not by the driver's own parser:
// the native protocol gives list, set, map, tuple and udt by option id, but
// custom types and everything inside a vector only as class strings, and
// the driver's parser refuses FrozenType(...) (every frozen collection or
// udt inside a vector), DynamicCompositeType and every other class it does
// not know, which failed the whole query. It also maps LexicalUUIDType to
// uuid, which Cassandra keeps apart; here it is a custom type.
//
// The driver still looks a class up by name before calling the registry,
// so a class outside org.apache.cassandra.db.marshal (a type from a jar on
// the server) is refused by the driver: sluice check reports it.
func Types() *gocql.RegisteredTypes {
	r := &gocql.RegisteredTypes{}
	must := func(err error) {
		if err != nil {
			panic("cqltype: registering sluice's types: " + err.Error())
		}
	}
	for _, n := range natives {
		must(r.RegisterType(n.id, n.name, gocql.SimpleCQLType{TypeInfo: nativeInfo(n.id)}))
	}
	for class, id := range nativeClasses {
		must(r.AddAlias(class, nativeNames[id]))
	}
	for _, c := range []struct {
		id          gocql.Type
		name, class string
		kind        abi.TypeID
	}{
		{gocql.TypeList, "list", "ListType", abi.TypeList},
		{gocql.TypeSet, "set", "SetType", abi.TypeSet},
		{gocql.TypeMap, "map", "MapType", abi.TypeMap},
		{gocql.TypeTuple, "tuple", "TupleType", abi.TypeTuple},
		{gocql.TypeUDT, "udt", "UserType", abi.TypeUDT},
	} {
		must(r.RegisterType(c.id, c.name, composite{kind: c.kind}))
		must(r.AddAlias(c.class, c.name))
	}
	must(r.RegisterCustom("vector", composite{kind: abi.TypeVector}))
	must(r.AddAlias("VectorType", "vector"))
	must(r.RegisterCustom("FrozenType", wrapper{}))
	must(r.RegisterCustom("ReversedType", wrapper{}))
	for _, c := range customClasses {
		must(r.RegisterCustom(c, customClass(c)))
	}
	return r
}

var natives = []struct {
	id   gocql.Type
	name string
}{
	{gocql.TypeAscii, "ascii"}, {gocql.TypeBigInt, "bigint"}, {gocql.TypeBlob, "blob"},
	{gocql.TypeBoolean, "boolean"}, {gocql.TypeCounter, "counter"}, {gocql.TypeDate, "date"},
	{gocql.TypeDecimal, "decimal"}, {gocql.TypeDouble, "double"}, {gocql.TypeDuration, "duration"},
	{gocql.TypeFloat, "float"}, {gocql.TypeInet, "inet"}, {gocql.TypeInt, "int"},
	{gocql.TypeSmallInt, "smallint"}, {gocql.TypeText, "text"}, {gocql.TypeTime, "time"},
	{gocql.TypeTimestamp, "timestamp"}, {gocql.TypeTimeUUID, "timeuuid"}, {gocql.TypeTinyInt, "tinyint"},
	{gocql.TypeUUID, "uuid"}, {gocql.TypeVarchar, "varchar"}, {gocql.TypeVarint, "varint"},
}

// nativeNames names each native abi id as registered above.
var nativeNames = func() map[abi.TypeID]string {
	m := map[abi.TypeID]string{}
	for _, n := range natives {
		if n.id != gocql.TypeText {
			m[abi.TypeID(n.id)] = n.name
		}
	}
	return m
}()

// driverTemplates holds the driver's own TypeInfo of every native type and
// a list, set and map (whose kind field is unexported: a template is copied
// and given its element types).
var driverTemplates = sync.OnceValue(func() map[string]gocql.TypeInfo {
	m := map[string]gocql.TypeInfo{}
	for _, n := range natives {
		m[n.name] = gocql.NewNativeType(4, n.id, "")
	}
	for _, k := range []string{"list", "set", "map"} {
		s := k + "<int>"
		if k == "map" {
			s = "map<int, int>"
		}
		m[k] = gocql.NewNativeType(4, gocql.TypeCustom, s)
	}
	return m
})

func nativeInfo(id gocql.Type) gocql.TypeInfo {
	for _, n := range natives {
		if n.id == id {
			return driverTemplates()[n.name]
		}
	}
	return nil
}

// ToGocql returns the driver's description of t.
func ToGocql(t abi.Type) (gocql.TypeInfo, error) {
	tm := driverTemplates()
	switch t.ID {
	case abi.TypeCustom:
		return Custom{Class: t.Name}, nil
	case abi.TypeList, abi.TypeSet, abi.TypeMap:
		c := tm[t.ID.String()].(gocql.CollectionType)
		var err error
		if c.Elem, err = ToGocql(t.Elems[len(t.Elems)-1]); err != nil {
			return nil, err
		}
		if t.ID == abi.TypeMap {
			if c.Key, err = ToGocql(t.Elems[0]); err != nil {
				return nil, err
			}
		}
		return c, nil
	case abi.TypeTuple:
		ti := gocql.TupleTypeInfo{Elems: make([]gocql.TypeInfo, len(t.Elems))}
		for i, e := range t.Elems {
			var err error
			if ti.Elems[i], err = ToGocql(e); err != nil {
				return nil, err
			}
		}
		return ti, nil
	case abi.TypeUDT:
		ti := gocql.UDTTypeInfo{Keyspace: t.Keyspace, Name: t.Name, Elements: make([]gocql.UDTField, len(t.Elems))}
		for i, e := range t.Elems {
			et, err := ToGocql(e)
			if err != nil {
				return nil, err
			}
			ti.Elements[i] = gocql.UDTField{Name: t.Fields[i], Type: et}
		}
		return ti, nil
	case abi.TypeVector:
		e, err := ToGocql(t.Elems[0])
		if err != nil {
			return nil, err
		}
		return gocql.VectorType{SubType: e, Dimensions: t.Dim}, nil
	}
	if name, ok := nativeNames[t.ID]; ok {
		return tm[name], nil
	}
	return nil, fmt.Errorf("cqltype: no driver type for %s", t)
}

// fromString parses s with Parse and returns the driver's description.
func fromString(s string) (gocql.TypeInfo, error) {
	t, err := Parse(s)
	if err != nil {
		return nil, err
	}
	return ToGocql(t)
}

// composite parses list, set, map, tuple, udt and vector types, from frame
// parameters (option ids) or from strings.
type composite struct{ kind abi.TypeID }

// Params returns what the driver reads from a frame for the kind, as the
// driver's own implementations do.
func (c composite) Params(int) []any {
	switch c.kind {
	case abi.TypeList, abi.TypeSet:
		return []any{(*gocql.TypeInfo)(nil)}
	case abi.TypeMap:
		return []any{(*gocql.TypeInfo)(nil), (*gocql.TypeInfo)(nil)}
	case abi.TypeTuple:
		return []any{[]gocql.TypeInfo(nil)}
	case abi.TypeUDT:
		return []any{"", "", []gocql.UDTField(nil)}
	}
	return nil // vector: a custom type, only ever a string
}

// TypeInfoFromParams builds the type from frame parameters.
func (c composite) TypeInfoFromParams(_ int, params []any) (gocql.TypeInfo, error) {
	tm := driverTemplates()
	info := func(i int) (gocql.TypeInfo, error) {
		if i >= len(params) {
			return nil, fmt.Errorf("cqltype: %s: %d parameters", c.kind, len(params))
		}
		ti, ok := params[i].(gocql.TypeInfo)
		if !ok {
			return nil, fmt.Errorf("cqltype: %s: parameter %d is %T, want a TypeInfo", c.kind, i, params[i])
		}
		return ti, nil
	}
	switch c.kind {
	case abi.TypeList, abi.TypeSet:
		e, err := info(0)
		if err != nil {
			return nil, err
		}
		ct := tm[c.kind.String()].(gocql.CollectionType)
		ct.Elem = e
		return ct, nil
	case abi.TypeMap:
		k, err := info(0)
		if err != nil {
			return nil, err
		}
		v, err := info(1)
		if err != nil {
			return nil, err
		}
		ct := tm["map"].(gocql.CollectionType)
		ct.Key, ct.Elem = k, v
		return ct, nil
	case abi.TypeTuple:
		if len(params) == 1 {
			if elems, ok := params[0].([]gocql.TypeInfo); ok {
				return gocql.TupleTypeInfo{Elems: elems}, nil
			}
		}
	case abi.TypeUDT:
		if len(params) == 3 {
			ks, ok1 := params[0].(string)
			name, ok2 := params[1].(string)
			fields, ok3 := params[2].([]gocql.UDTField)
			if ok1 && ok2 && ok3 {
				return gocql.UDTTypeInfo{Keyspace: ks, Name: name, Elements: fields}, nil
			}
		}
	}
	return nil, fmt.Errorf("cqltype: %s: unexpected frame parameters %T", c.kind, params)
}

// TypeInfoFromString builds the type from the part of a type string inside
// its parentheses or angle brackets (the driver splits the name off).
func (c composite) TypeInfoFromString(_ int, params string) (gocql.TypeInfo, error) {
	switch c.kind {
	case abi.TypeList, abi.TypeSet:
		e, err := Parse(params)
		if err != nil {
			return nil, err
		}
		if c.kind == abi.TypeList {
			return ToGocql(abi.ListOf(e))
		}
		return ToGocql(abi.SetOf(e))
	case abi.TypeUDT:
		return fromString(MarshalPrefix + "UserType(" + params + ")")
	}
	parts := splitTop(params)
	types := make([]abi.Type, 0, len(parts))
	for i, p := range parts {
		if c.kind == abi.TypeVector && i == 1 {
			break
		}
		t, err := Parse(p)
		if err != nil {
			return nil, err
		}
		types = append(types, t)
	}
	switch c.kind {
	case abi.TypeMap:
		if len(types) != 2 {
			return nil, fmt.Errorf("cqltype: map<%s>: want 2 types, got %d", params, len(types))
		}
		return ToGocql(abi.MapOf(types[0], types[1]))
	case abi.TypeTuple:
		return ToGocql(abi.TupleOf(types...))
	case abi.TypeVector:
		if len(parts) != 2 {
			return nil, fmt.Errorf("cqltype: vector(%s): want a type and dimensions", params)
		}
		var d uint32
		if _, err := fmt.Sscan(parts[1], &d); err != nil || d == 0 {
			return nil, fmt.Errorf("cqltype: vector(%s): dimensions %q: want an integer in 1..4294967295", params, parts[1])
		}
		t := abi.VectorOf(types[0], int(d))
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("cqltype: vector(%s): %w", params, err)
		}
		return ToGocql(t)
	}
	return nil, fmt.Errorf("cqltype: no string form for %s", c.kind)
}

// wrapper is FrozenType and ReversedType: the type they wrap.
type wrapper struct{}

func (wrapper) Params(int) []any { return nil }

func (wrapper) TypeInfoFromParams(int, []any) (gocql.TypeInfo, error) {
	return nil, fmt.Errorf("cqltype: FrozenType/ReversedType come only as strings")
}

func (wrapper) TypeInfoFromString(_ int, params string) (gocql.TypeInfo, error) {
	return fromString(params)
}

// customClass is one of Cassandra's custom marshal classes.
type customClass string

func (customClass) Params(int) []any { return nil }

func (c customClass) TypeInfoFromParams(int, []any) (gocql.TypeInfo, error) {
	return Custom{Class: MarshalPrefix + string(c)}, nil
}

func (c customClass) TypeInfoFromString(_ int, params string) (gocql.TypeInfo, error) {
	class := MarshalPrefix + string(c)
	if params != "" {
		class += "(" + params + ")"
	}
	return Custom{Class: class}, nil
}
