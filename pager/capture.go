package pager

import (
	"encoding/binary"

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
