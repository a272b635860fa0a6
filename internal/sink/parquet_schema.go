package sink

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicehq/sluice/abi"
)

// The mapping of CQL types to Parquet (docs/sinks.md, "parquet", has the
// table and says where it is not faithful). Every column is optional
// (CQL has no NOT NULL outside the primary key, and plugins may emit
// nulls anywhere).

// pnode is one node of the Parquet schema built for an abi.Schema, with
// what the shredder needs: the CQL type, the leaf's column index, and for
// groups the children in Parquet's order (parquet.Group sorts fields by
// name; comp maps that order back to the CQL component order).
type pnode struct {
	t     abi.Type
	leaf  int // column index of a leaf; -1 for groups
	kids  []*pnode
	comp  []int // struct: kids[i] is component comp[i]
	rep   int   // repetition level of a repeated node under this one (list, map)
	nodes parquet.Node
	// decimal: the schema's scale
	scale int32
	// required: a map key (parquet.Map makes it required: no definition
	// level of its own)
	required bool
}

// decimalPrecision is the precision of every DECIMAL column: 16 bytes of
// two's complement, what Arrow's decimal128 and Spark read.
const decimalPrecision = 38

type pschema struct {
	root   *pnode // a struct node of the top-level columns
	schema *parquet.Schema
	leaves int
	scale  int32
}

// newPSchema maps s; scale is the scale of decimal columns.
func newPSchema(s *abi.Schema, scale int32) (*pschema, error) {
	ps := &pschema{scale: scale}
	names := make([]string, len(s.Columns))
	types := make([]abi.Type, len(s.Columns))
	for i, c := range s.Columns {
		names[i], types[i] = c.Name, c.Type
	}
	root, group, err := ps.structNode(names, types, 0)
	if err != nil {
		return nil, err
	}
	ps.root = root
	ps.schema = parquet.NewSchema("sluice", group)
	return ps, nil
}

// structNode builds the (unwrapped) group of named fields.
func (ps *pschema) structNode(names []string, types []abi.Type, rep int) (*pnode, parquet.Group, error) {
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return nil, nil, fmt.Errorf("two fields are named %q", n)
		}
		seen[n] = true
	}
	sort.Slice(order, func(a, b int) bool { return names[order[a]] < names[order[b]] })
	pn := &pnode{t: abi.Type{ID: abi.TypeUDT}, leaf: -1, comp: order}
	g := parquet.Group{}
	for _, i := range order {
		kid, err := ps.node(types[i], rep)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", names[i], err)
		}
		pn.kids = append(pn.kids, kid)
		g[names[i]] = kid.nodes
	}
	return pn, g, nil
}

// node builds the optional node of a value of type t (leaves get column
// indexes in Parquet's order, which is the order nodes are built in).
func (ps *pschema) node(t abi.Type, rep int) (*pnode, error) {
	pn := &pnode{t: t, leaf: -1}
	leaf := func(n parquet.Node) (*pnode, error) {
		pn.leaf = ps.leaves
		ps.leaves++
		pn.nodes = parquet.Optional(n)
		return pn, nil
	}
	switch t.ID {
	case abi.TypeBoolean:
		return leaf(parquet.Leaf(parquet.BooleanType))
	case abi.TypeInt:
		return leaf(parquet.Int(32))
	case abi.TypeSmallint:
		return leaf(parquet.Int(16))
	case abi.TypeTinyint:
		return leaf(parquet.Int(8))
	case abi.TypeBigint, abi.TypeCounter:
		return leaf(parquet.Int(64))
	case abi.TypeFloat:
		return leaf(parquet.Leaf(parquet.FloatType))
	case abi.TypeDouble:
		return leaf(parquet.Leaf(parquet.DoubleType))
	case abi.TypeVarchar, abi.TypeASCII, abi.TypeInet, abi.TypeDuration:
		return leaf(parquet.String())
	case abi.TypeBlob, abi.TypeCustom:
		return leaf(parquet.Leaf(parquet.ByteArrayType))
	case abi.TypeTimestamp:
		return leaf(parquet.TimestampAdjusted(parquet.Millisecond, true))
	case abi.TypeDate:
		return leaf(parquet.Date())
	case abi.TypeTime:
		return leaf(parquet.Time(parquet.Nanosecond))
	case abi.TypeUUID, abi.TypeTimeUUID:
		return leaf(parquet.UUID())
	case abi.TypeDecimal:
		pn.scale = ps.scale
		return leaf(parquet.Decimal(int(ps.scale), decimalPrecision, parquet.FixedLenByteArrayType(16)))
	case abi.TypeVarint:
		return leaf(parquet.Decimal(0, decimalPrecision, parquet.FixedLenByteArrayType(16)))
	case abi.TypeList, abi.TypeSet, abi.TypeVector:
		pn.rep = rep + 1
		kid, err := ps.node(t.Elems[0], rep+1)
		if err != nil {
			return nil, err
		}
		pn.kids = []*pnode{kid}
		pn.nodes = parquet.Optional(parquet.List(kid.nodes))
		return pn, nil
	case abi.TypeMap:
		pn.rep = rep + 1
		// parquet.Map's group sorts "key" before "value": build in that order.
		k, err := ps.node(t.Elems[0], rep+1)
		if err != nil {
			return nil, err
		}
		v, err := ps.node(t.Elems[1], rep+1)
		if err != nil {
			return nil, err
		}
		k.required = true
		pn.kids = []*pnode{k, v}
		pn.nodes = parquet.Optional(parquet.Map(k.nodes, v.nodes))
		return pn, nil
	case abi.TypeUDT, abi.TypeTuple:
		names := t.Fields
		if t.ID == abi.TypeTuple {
			names = make([]string, len(t.Elems))
			for i := range names {
				names[i] = "_" + strconv.Itoa(i+1)
			}
		}
		sn, g, err := ps.structNode(names, t.Elems, rep)
		if err != nil {
			return nil, err
		}
		sn.t = t
		sn.nodes = parquet.Optional(g)
		return sn, nil
	}
	return nil, fmt.Errorf("type %s has no Parquet mapping", t)
}

// shredder turns rows into Parquet rows (Dremel levels), one value list
// per leaf column, concatenated in column order.
type shredder struct {
	ps    *pschema
	cols  [][]parquet.Value
	split [][]byte
}

func (sh *shredder) reset() {
	if len(sh.cols) != sh.ps.leaves {
		sh.cols = make([][]parquet.Value, sh.ps.leaves)
	}
	for i := range sh.cols {
		sh.cols[i] = sh.cols[i][:0]
	}
}

// row shreds the cells of one row and appends the Parquet row to dst.
func (sh *shredder) row(dst parquet.Row, cells [][]byte) (parquet.Row, error) {
	sh.reset()
	root := sh.ps.root
	for i, kid := range root.kids {
		if err := sh.value(kid, cells[root.comp[i]], 0, 0); err != nil {
			return dst, fmt.Errorf("column %d (%s): %w", root.comp[i], kid.t, err)
		}
	}
	for _, c := range sh.cols {
		dst = append(dst, c...)
	}
	return dst, nil
}

// nulls writes a null at (r, d) to every leaf under n.
func (sh *shredder) nulls(n *pnode, r, d int) {
	if n.leaf >= 0 {
		sh.cols[n.leaf] = append(sh.cols[n.leaf], parquet.NullValue().Level(r, d, n.leaf))
		return
	}
	for _, k := range n.kids {
		sh.nulls(k, r, d)
	}
}

// value writes cell (nil = null) of optional node n at repetition level r;
// d is the definition level of n's parent.
func (sh *shredder) value(n *pnode, cell []byte, r, d int) error {
	if cell == nil {
		if n.required {
			return fmt.Errorf("null map key")
		}
		sh.nulls(n, r, d)
		return nil
	}
	if !n.required {
		d++ // n is present
	}
	if n.leaf >= 0 {
		v, null, err := leafValue(n, cell)
		if err != nil {
			return err
		}
		if null {
			if n.required {
				return fmt.Errorf("empty map key of type %s", n.t)
			}
			sh.nulls(n, r, d-1)
			return nil
		}
		sh.cols[n.leaf] = append(sh.cols[n.leaf], v.Level(r, d, n.leaf))
		return nil
	}
	t := n.t
	switch t.ID {
	case abi.TypeList, abi.TypeSet, abi.TypeVector, abi.TypeMap:
		if len(cell) == 0 {
			if n.required {
				return fmt.Errorf("empty map key of type %s", n.t)
			}
			sh.nulls(n, r, d-1) // an empty value of a collection: null
			return nil
		}
		var elems [][]byte
		var err error
		per := 1
		switch t.ID {
		case abi.TypeVector:
			elems, err = abi.SplitVector(cell, t.Elems[0], t.Dim, nil)
		case abi.TypeMap:
			elems, err = abi.SplitMap(cell, nil)
			per = 2
		default:
			elems, err = abi.SplitList(cell, nil)
		}
		if err != nil {
			return err
		}
		if len(elems) == 0 {
			for _, k := range n.kids {
				sh.nulls(k, r, d) // present and empty
			}
			return nil
		}
		for i := 0; i < len(elems); i += per {
			ri := r
			if i > 0 {
				ri = n.rep
			}
			// d+1: the repeated group is present.
			if per == 2 {
				if elems[i] == nil {
					return fmt.Errorf("map with a null key")
				}
				if err := sh.value(n.kids[0], elems[i], ri, d+1); err != nil {
					return err
				}
				if err := sh.value(n.kids[1], elems[i+1], ri, d+1); err != nil {
					return err
				}
				continue
			}
			if err := sh.value(n.kids[0], elems[i], ri, d+1); err != nil {
				return err
			}
		}
		return nil
	case abi.TypeUDT, abi.TypeTuple:
		if len(cell) == 0 {
			if n.required {
				return fmt.Errorf("empty map key of type %s", n.t)
			}
			sh.nulls(n, r, d-1)
			return nil
		}
		comps, err := abi.SplitTuple(cell, len(t.Elems), nil)
		if err != nil {
			return err
		}
		for len(comps) < len(t.Elems) {
			comps = append(comps, nil)
		}
		for i, k := range n.kids {
			if err := sh.value(k, comps[n.comp[i]], r, d); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("type %s has no Parquet mapping", t)
}

var (
	epochDays = uint32(1) << 31
	maxDec    = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 127), big.NewInt(1))
	minDec    = new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 127))
	ten       = big.NewInt(10)
)

// leafValue converts a scalar cell. An empty cell (zero bytes, which CQL
// allows for most scalar types) of a type other than text and blob is
// written as null.
func leafValue(n *pnode, cell []byte) (v parquet.Value, null bool, err error) {
	t := n.t
	if len(cell) == 0 {
		switch t.ID {
		case abi.TypeVarchar, abi.TypeASCII, abi.TypeBlob, abi.TypeCustom:
			return parquet.ByteArrayValue([]byte{}), false, nil
		}
		return v, true, nil
	}
	switch t.ID {
	case abi.TypeBoolean:
		b, err := abi.DecodeBoolean(cell)
		return parquet.BooleanValue(b), false, err
	case abi.TypeInt:
		x, err := abi.DecodeInt(cell)
		return parquet.Int32Value(x), false, err
	case abi.TypeSmallint:
		x, err := abi.DecodeSmallint(cell)
		return parquet.Int32Value(int32(x)), false, err
	case abi.TypeTinyint:
		x, err := abi.DecodeTinyint(cell)
		return parquet.Int32Value(int32(x)), false, err
	case abi.TypeBigint:
		x, err := abi.DecodeBigint(cell)
		return parquet.Int64Value(x), false, err
	case abi.TypeCounter:
		x, err := abi.DecodeCounter(cell)
		return parquet.Int64Value(x), false, err
	case abi.TypeFloat:
		x, err := abi.DecodeFloat(cell)
		return parquet.FloatValue(x), false, err
	case abi.TypeDouble:
		x, err := abi.DecodeDouble(cell)
		return parquet.DoubleValue(x), false, err
	case abi.TypeVarchar, abi.TypeASCII, abi.TypeBlob, abi.TypeCustom:
		return parquet.ByteArrayValue(cell), false, nil
	case abi.TypeInet:
		a, err := abi.DecodeInet(cell)
		if err != nil {
			return v, false, err
		}
		return parquet.ByteArrayValue([]byte(a.String())), false, nil
	case abi.TypeDuration:
		d, err := abi.DecodeDuration(cell)
		if err != nil {
			return v, false, err
		}
		s, err := abi.FormatDuration(d)
		return parquet.ByteArrayValue([]byte(s)), false, err
	case abi.TypeTimestamp:
		x, err := abi.DecodeTimestamp(cell)
		return parquet.Int64Value(x), false, err
	case abi.TypeDate:
		x, err := abi.DecodeDate(cell)
		return parquet.Int32Value(int32(x - epochDays)), false, err
	case abi.TypeTime:
		x, err := abi.DecodeTime(cell)
		return parquet.Int64Value(x), false, err
	case abi.TypeUUID, abi.TypeTimeUUID:
		u, err := abi.DecodeUUID(cell)
		return parquet.FixedLenByteArrayValue(u[:]), false, err
	case abi.TypeDecimal:
		unscaled, scale, err := abi.DecodeDecimal(cell)
		if err != nil {
			return v, false, err
		}
		x, err := rescale(unscaled, scale, n.scale)
		if err != nil {
			return v, false, err
		}
		return parquet.FixedLenByteArrayValue(be128(x)), false, nil
	case abi.TypeVarint:
		x, err := abi.DecodeVarint(cell)
		if err != nil {
			return v, false, err
		}
		if x.Cmp(maxDec) > 0 || x.Cmp(minDec) < 0 {
			return v, false, fmt.Errorf("varint %s does not fit DECIMAL(38,0)", x)
		}
		return parquet.FixedLenByteArrayValue(be128(x)), false, nil
	}
	return v, false, fmt.Errorf("type %s has no Parquet mapping", t)
}

// rescale returns unscaled·10^(to-from), refusing to round.
func rescale(x *big.Int, from, to int32) (*big.Int, error) {
	y := new(big.Int).Set(x)
	switch {
	case to > from:
		y.Mul(y, new(big.Int).Exp(ten, big.NewInt(int64(to-from)), nil))
	case to < from:
		q, m := new(big.Int).QuoRem(y, new(big.Int).Exp(ten, big.NewInt(int64(from-to)), nil), new(big.Int))
		if m.Sign() != 0 {
			return nil, fmt.Errorf("decimal %s has scale %d, more than the column's decimal_scale %d: it cannot be written without rounding (raise decimal_scale)", decText(x, from), from, to)
		}
		y = q
	}
	if y.Cmp(maxDec) > 0 || y.Cmp(minDec) < 0 {
		return nil, fmt.Errorf("decimal %s does not fit DECIMAL(38,%d)", decText(x, from), to)
	}
	return y, nil
}

func decText(x *big.Int, scale int32) string {
	return new(big.Float).SetInt(x).Text('g', 40) + "e-" + strconv.Itoa(int(scale))
}

// be128 is x as 16 bytes of big-endian two's complement.
func be128(x *big.Int) []byte {
	b := make([]byte, 16)
	if x.Sign() >= 0 {
		x.FillBytes(b)
		return b
	}
	// two's complement: 2^128 + x
	y := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 128), x)
	y.FillBytes(b)
	return b
}
