package cqltype

import (
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
)

const m = MarshalPrefix

func TestParse(t *testing.T) {
	addr := abi.UDTOf("ks", "addr", []string{"street", "zip"}, []abi.Type{{ID: abi.TypeVarchar}, {ID: abi.TypeInt}})
	for _, c := range []struct {
		in   string
		want abi.Type
	}{
		{m + "Int32Type", abi.Type{ID: abi.TypeInt}},
		{"Int32Type", abi.Type{ID: abi.TypeInt}},
		{m + "DateType", abi.Type{ID: abi.TypeTimestamp}},
		{m + "FrozenType(" + m + "ListType(" + m + "Int32Type))", abi.ListOf(abi.Type{ID: abi.TypeInt})},
		{m + "SetType(" + m + "UTF8Type)", abi.SetOf(abi.Type{ID: abi.TypeVarchar})},
		{m + "MapType(" + m + "UTF8Type," + m + "FrozenType(" + m + "ListType(" + m + "LongType)))", abi.MapOf(abi.Type{ID: abi.TypeVarchar}, abi.ListOf(abi.Type{ID: abi.TypeBigint}))},
		{m + "TupleType(" + m + "Int32Type, " + m + "UTF8Type)", abi.TupleOf(abi.Type{ID: abi.TypeInt}, abi.Type{ID: abi.TypeVarchar})},
		{m + "UserType(ks,61646472,737472656574:" + m + "UTF8Type,7a6970:" + m + "Int32Type)", addr},
		{m + "VectorType(" + m + "FrozenType(" + m + "UserType(ks,61646472,737472656574:" + m + "UTF8Type,7a6970:" + m + "Int32Type)),2)", abi.VectorOf(addr, 2)},
		{m + "VectorType(" + m + "FloatType,3)", abi.VectorOf(abi.Type{ID: abi.TypeFloat}, 3)},
		{m + "ReversedType(" + m + "TimeUUIDType)", abi.Type{ID: abi.TypeTimeUUID}},
		{m + "LexicalUUIDType", abi.CustomOf(m + "LexicalUUIDType")},
		{"LexicalUUIDType", abi.CustomOf(m + "LexicalUUIDType")},
		{m + "DynamicCompositeType(s=>" + m + "UTF8Type,i=>" + m + "Int32Type)", abi.CustomOf(m + "DynamicCompositeType(s=>" + m + "UTF8Type,i=>" + m + "Int32Type)")},
		{"com.example.Weird", abi.CustomOf("com.example.Weird")},
		{"vector<frozen<list<int>>, 3>", abi.VectorOf(abi.ListOf(abi.Type{ID: abi.TypeInt}), 3)},
		{"'" + m + "LexicalUUIDType'", abi.CustomOf(m + "LexicalUUIDType")},
		{"map<text, frozen<set<int>>>", abi.MapOf(abi.Type{ID: abi.TypeVarchar}, abi.SetOf(abi.Type{ID: abi.TypeInt}))},
	} {
		got, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !got.Equal(c.want) {
			t.Errorf("Parse(%q) = %s, want %s", c.in, got.Describe(), c.want.Describe())
		}
	}
	for _, bad := range []string{
		"", m + "ListType(", m + "ListType()", m + "MapType(" + m + "Int32Type)", m + "VectorType(" + m + "FloatType,0)",
		m + "VectorType(" + m + "FloatType,x)", m + "UserType(ks,zz)", m + "UserType(ks,61,6:" + m + "Int32Type)",
		m + "DynamicCompositeType(a=>b", "frozen<addr>", m + "Int32Type junk",
		strings.Repeat(m+"FrozenType(", 40) + m + "Int32Type" + strings.Repeat(")", 40),
		strings.Repeat(m+"ListType(", 40) + m + "Int32Type" + strings.Repeat(")", 40),
	} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %s, want an error", bad, got)
		}
	}
}

// TestTypesRoundTrip: what the registry hands the driver converts back to
// the same abi type.
func TestTypesRoundTrip(t *testing.T) {
	r := Types()
	_ = r
	for _, s := range []string{
		m + "VectorType(" + m + "FrozenType(" + m + "ListType(" + m + "Int32Type)),2)",
		m + "VectorType(" + m + "FrozenType(" + m + "MapType(" + m + "UTF8Type," + m + "TupleType(" + m + "Int32Type," + m + "LexicalUUIDType))),2)",
		m + "DynamicCompositeType(s=>" + m + "UTF8Type,i=>" + m + "Int32Type)",
		m + "UserType(ks,61646472,737472656574:" + m + "UTF8Type,7a6970:" + m + "Int32Type)",
	} {
		want, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		ti, err := fromString(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := FromGocql(ti)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Errorf("%s: round trip gives %s, want %s", s, got.Describe(), want.Describe())
		}
	}
	// The driver's Marshal still works on what ToGocql returns.
	ti, _ := ToGocql(abi.ListOf(abi.Type{ID: abi.TypeInt}))
	if b, err := gocql.Marshal(ti, []int{1}); err != nil || len(b) != 12 {
		t.Fatalf("marshal list<int>: %x, %v", b, err)
	}
}

func TestCheckVectors(t *testing.T) {
	for s, ok := range map[string]bool{
		"vector<'" + m + "LexicalUUIDType', 2>":                            true,
		"vector<'" + m + "DynamicCompositeType(s=>" + m + "UTF8Type)', 2>": true,
		"list<frozen<vector<'" + m + "CompositeType(a,b)', 2>>>":           true,
		"vector<'com.example.T', 2>":                                       false,
		"map<int, frozen<vector<frozen<vector<'x.Y', 1>>, 2>>>":            false,
		"'com.example.T'":                          true,
		"vector<frozen<list<'com.example.T'>>, 2>": true,
	} {
		typ, err := Parse(s)
		if err != nil {
			if ok {
				t.Errorf("Parse(%q): %v", s, err)
			}
			continue
		}
		if err := CheckVectors(typ); (err == nil) != ok {
			t.Errorf("CheckVectors(%s) = %v, want ok=%v", s, err, ok)
		}
	}
}

// FuzzParse: Parse never panics, and whatever it accepts is a valid type
// whose CQL form (Type.Describe) parses back to the same type.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		m + "VectorType(" + m + "FrozenType(" + m + "ListType(" + m + "Int32Type)),3)",
		m + "UserType(ks,61646472,737472656574:" + m + "UTF8Type,7a6970:" + m + "Int32Type)",
		m + "DynamicCompositeType(s=>" + m + "UTF8Type,i=>" + m + "Int32Type)",
		m + "MapType(" + m + "UTF8Type," + m + "TupleType(" + m + "Int32Type," + m + "LexicalUUIDType))",
		"vector<frozen<map<int, text>>, 2>", "'com.example.T'", m + "ReversedType(" + m + "LongType)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The registry's entry points take the driver's split of any
		// string the server sends: none may panic, and what they accept
		// converts back.
		for _, c := range []gocql.CQLType{composite{abi.TypeList}, composite{abi.TypeSet}, composite{abi.TypeMap},
			composite{abi.TypeTuple}, composite{abi.TypeUDT}, composite{abi.TypeVector}, wrapper{}, customClass("CompositeType")} {
			if ti, err := c.TypeInfoFromString(4, s); err == nil {
				if _, err := FromGocql(ti); err != nil {
					t.Fatalf("%T.TypeInfoFromString(%q) = %v, which FromGocql refuses: %v", c, s, ti, err)
				}
			}
		}
		typ, err := Parse(s)
		if err != nil {
			return
		}
		if err := typ.Validate(); err != nil {
			t.Fatalf("Parse(%q) = invalid %s: %v", s, typ.Describe(), err)
		}
		ti, err := ToGocql(typ)
		if err != nil {
			t.Fatalf("ToGocql(%s): %v", typ.Describe(), err)
		}
		if back, err := FromGocql(ti); err != nil || !back.Equal(typ) {
			t.Fatalf("FromGocql(ToGocql(%s)) = %s, %v", typ.Describe(), back.Describe(), err)
		}
		if back, err := abi.ParseType(typ.Describe()); err != nil || !back.Equal(typ) {
			t.Fatalf("abi.ParseType(%q) = %s, %v", typ.Describe(), back.Describe(), err)
		}
		_ = splitTop(s)
	})
}
