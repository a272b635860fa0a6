package pager

import (
	"encoding/binary"
	"fmt"
	"reflect"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
)

// Raw cell capture. gocql calls UnmarshalCQL(info, data) on every scan
// destination that implements gocql.Unmarshaler, with data exactly the
// cell's bytes in the response frame: nil for NULL, a non-nil empty slice
// for an empty value. The destinations below append those bytes straight
// into the page builder (one copy, no decoding).
//
// Top-level tuple columns are the exception: Iter.Scan expands them and
// calls Unmarshal once per component, so the tuple is re-encoded from its
// components ([i32 length][bytes] each, -1 for a null component), which is
// Cassandra's tuple serialization. Both a NULL tuple and a tuple whose
// components are all NULL reach us as all-nil components; Cassandra 5.0
// keeps them apart (toJson gives null vs [null, null], writetime() is null
// only for the former). In table mode the query also selects writetime() of
// each nullable tuple column (a "probe", not part of the page) and the
// probe decides; in CQL mode an all-null tuple is delivered as NULL.

// cellDest appends the cell as is.
type cellDest struct{ b *abi.PageBuilder }

func (d *cellDest) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	d.b.AppendCell(data)
	return nil
}

// tupleState re-encodes one top-level tuple column of the current row.
type tupleState struct {
	b       *abi.PageBuilder
	buf     []byte
	nonNull bool // some component was not null
	probed  bool // a writetime probe was read for this row
	present bool // the probe was not null: the tuple is not NULL
}

// tupleElemDest receives one component of a tuple; the last one appends the
// tuple cell.
type tupleElemDest struct {
	t    *tupleState
	last bool
}

func (d *tupleElemDest) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	t := d.t
	if data == nil {
		t.buf = append(t.buf, 0xFF, 0xFF, 0xFF, 0xFF)
	} else {
		t.buf = binary.BigEndian.AppendUint32(t.buf, uint32(len(data)))
		t.buf = append(t.buf, data...)
		t.nonNull = true
	}
	if d.last {
		null := !t.nonNull
		if t.probed {
			null = !t.present
		}
		if null {
			t.b.AppendNull()
		} else {
			t.b.AppendCell(t.buf)
		}
		t.buf, t.nonNull, t.probed, t.present = t.buf[:0], false, false, false
	}
	return nil
}

// probeDest reads the writetime() probe of a tuple column.
type probeDest struct{ t *tupleState }

func (d *probeDest) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	d.t.probed, d.t.present = true, data != nil
	return nil
}

// layout describes how the result columns of a query map to page columns.
type layout struct {
	probeOf []int       // the leading result columns are probes: probe i belongs to page column probeOf[i]
	tuples  map[int]int // page column -> number of components, for tuple columns
	dests   int         // scan destinations per row (tuples expanded)
}

// scanner holds the scan destinations of one fetch: it belongs to the
// split owner goroutine running that fetch.
type scanner struct {
	dests []any
}

func newScanner(l *layout, ncols int, b *abi.PageBuilder) *scanner {
	s := &scanner{dests: make([]any, 0, l.dests)}
	tuples := make(map[int]*tupleState, len(l.tuples))
	for col := range l.tuples {
		tuples[col] = &tupleState{b: b}
	}
	for _, col := range l.probeOf {
		s.dests = append(s.dests, &probeDest{t: tuples[col]})
	}
	cell := &cellDest{b: b}
	for col := 0; col < ncols; col++ {
		n, ok := l.tuples[col]
		if !ok {
			s.dests = append(s.dests, cell)
			continue
		}
		t := tuples[col]
		for i := 0; i < n; i++ {
			s.dests = append(s.dests, &tupleElemDest{t: t, last: i == n-1})
		}
	}
	return s
}

// convertType converts a gocql type to the ABI type.
func convertType(ti gocql.TypeInfo) (abi.Type, error) {
	switch t := ti.(type) {
	case gocql.CollectionType:
		switch t.Type() {
		case gocql.TypeList, gocql.TypeSet:
			e, err := convertType(t.Elem)
			if err != nil {
				return abi.Type{}, err
			}
			if t.Type() == gocql.TypeList {
				return abi.ListOf(e), nil
			}
			return abi.SetOf(e), nil
		case gocql.TypeMap:
			k, err := convertType(t.Key)
			if err != nil {
				return abi.Type{}, err
			}
			v, err := convertType(t.Elem)
			if err != nil {
				return abi.Type{}, err
			}
			return abi.MapOf(k, v), nil
		}
		return abi.Type{}, fmt.Errorf("pager: unknown collection type %v", t.Type())
	case gocql.TupleTypeInfo:
		elems := make([]abi.Type, len(t.Elems))
		for i, e := range t.Elems {
			c, err := convertType(e)
			if err != nil {
				return abi.Type{}, err
			}
			elems[i] = c
		}
		return abi.TupleOf(elems...), nil
	case gocql.UDTTypeInfo:
		names := make([]string, len(t.Elements))
		types := make([]abi.Type, len(t.Elements))
		for i, f := range t.Elements {
			c, err := convertType(f.Type)
			if err != nil {
				return abi.Type{}, err
			}
			names[i], types[i] = f.Name, c
		}
		return abi.UDTOf(t.Keyspace, t.Name, names, types), nil
	case gocql.VectorType:
		e, err := convertType(t.SubType)
		if err != nil {
			return abi.Type{}, err
		}
		return abi.VectorOf(e, t.Dimensions), nil
	}
	switch ti.Type() {
	case gocql.TypeAscii:
		return abi.Type{ID: abi.TypeASCII}, nil
	case gocql.TypeBigInt:
		return abi.Type{ID: abi.TypeBigint}, nil
	case gocql.TypeBlob:
		return abi.Type{ID: abi.TypeBlob}, nil
	case gocql.TypeBoolean:
		return abi.Type{ID: abi.TypeBoolean}, nil
	case gocql.TypeCounter:
		return abi.Type{ID: abi.TypeCounter}, nil
	case gocql.TypeDecimal:
		return abi.Type{ID: abi.TypeDecimal}, nil
	case gocql.TypeDouble:
		return abi.Type{ID: abi.TypeDouble}, nil
	case gocql.TypeFloat:
		return abi.Type{ID: abi.TypeFloat}, nil
	case gocql.TypeInt:
		return abi.Type{ID: abi.TypeInt}, nil
	case gocql.TypeText, gocql.TypeVarchar:
		return abi.Type{ID: abi.TypeVarchar}, nil
	case gocql.TypeTimestamp:
		return abi.Type{ID: abi.TypeTimestamp}, nil
	case gocql.TypeUUID:
		return abi.Type{ID: abi.TypeUUID}, nil
	case gocql.TypeVarint:
		return abi.Type{ID: abi.TypeVarint}, nil
	case gocql.TypeTimeUUID:
		return abi.Type{ID: abi.TypeTimeUUID}, nil
	case gocql.TypeInet:
		return abi.Type{ID: abi.TypeInet}, nil
	case gocql.TypeDate:
		return abi.Type{ID: abi.TypeDate}, nil
	case gocql.TypeTime:
		return abi.Type{ID: abi.TypeTime}, nil
	case gocql.TypeSmallInt:
		return abi.Type{ID: abi.TypeSmallint}, nil
	case gocql.TypeTinyInt:
		return abi.Type{ID: abi.TypeTinyint}, nil
	case gocql.TypeDuration:
		return abi.Type{ID: abi.TypeDuration}, nil
	case gocql.TypeCustom:
		// gocql refuses custom classes it does not know when it parses the
		// result metadata, so this is a registered custom type.
		name := fmt.Sprint(ti)
		if v := reflect.ValueOf(ti); v.Kind() == reflect.String {
			name = v.String()
		}
		return abi.CustomOf(name), nil
	}
	return abi.Type{}, fmt.Errorf("pager: unsupported CQL type %v (id 0x%04X)", ti, int(ti.Type()))
}
