// Package cqltype is sluice's knowledge of Cassandra's types: it parses
// Cassandra's type strings (Parse), gives the driver a type registry built
// on that parser (Types), so that every type a table can hold reaches
// sluice, and converts the driver's type descriptions (from result or
// table metadata) to abi.Type, for the pager (page schemas) and the
// Cassandra sink (target columns) alike.
package cqltype

import (
	"fmt"
	"reflect"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
)

// FromGocql converts a gocql type to the ABI type: every native type,
// collections, tuples, UDTs, vectors, and custom types (Custom, as the
// registry of Types describes them).
func FromGocql(ti gocql.TypeInfo) (abi.Type, error) {
	switch t := ti.(type) {
	case gocql.CollectionType:
		switch t.Type() {
		case gocql.TypeList, gocql.TypeSet:
			e, err := FromGocql(t.Elem)
			if err != nil {
				return abi.Type{}, err
			}
			if t.Type() == gocql.TypeList {
				return abi.ListOf(e), nil
			}
			return abi.SetOf(e), nil
		case gocql.TypeMap:
			k, err := FromGocql(t.Key)
			if err != nil {
				return abi.Type{}, err
			}
			v, err := FromGocql(t.Elem)
			if err != nil {
				return abi.Type{}, err
			}
			return abi.MapOf(k, v), nil
		}
		return abi.Type{}, fmt.Errorf("unknown collection type %v", t.Type())
	case gocql.TupleTypeInfo:
		elems := make([]abi.Type, len(t.Elems))
		for i, e := range t.Elems {
			var err error
			if elems[i], err = FromGocql(e); err != nil {
				return abi.Type{}, err
			}
		}
		return abi.TupleOf(elems...), nil
	case gocql.UDTTypeInfo:
		names := make([]string, len(t.Elements))
		types := make([]abi.Type, len(t.Elements))
		for i, f := range t.Elements {
			names[i] = f.Name
			var err error
			if types[i], err = FromGocql(f.Type); err != nil {
				return abi.Type{}, err
			}
		}
		return abi.UDTOf(t.Keyspace, t.Name, names, types), nil
	case Custom:
		return abi.CustomOf(t.Class), nil
	case gocql.VectorType:
		e, err := FromGocql(t.SubType)
		if err != nil {
			return abi.Type{}, err
		}
		return abi.VectorOf(e, t.Dimensions), nil
	}
	id := ti.Type()
	switch {
	case id == gocql.TypeCustom:
		// A custom type of a session without Types (a registry of its
		// own): gocql refuses classes it does not know when it parses the
		// metadata, so this is one registered there.
		if v := reflect.ValueOf(ti); v.Kind() == reflect.String {
			return abi.CustomOf(v.String()), nil
		}
		return abi.CustomOf(fmt.Sprint(ti)), nil
	case id == 0x000A: // "text" in protocols before v3; varchar since
		return abi.Type{ID: abi.TypeVarchar}, nil
	case abi.TypeID(id).Known():
		return abi.Type{ID: abi.TypeID(id)}, nil
	}
	return abi.Type{}, fmt.Errorf("unsupported CQL type %v (id 0x%04X)", ti, uint16(id))
}
