package abi_test

import (
	"fmt"

	"github.com/sluicehq/sluice/abi"
)

// Build a page, encode it as the host does, decode it as a plugin does and
// answer with a SELECT that keeps the rows whose name is not null.
func Example() {
	schema := abi.NewSchema(
		abi.Column{Name: "id", Type: abi.Type{ID: abi.TypeInt}},
		abi.Column{Name: "name", Type: abi.Type{ID: abi.TypeText}},
	)
	b := abi.NewPageBuilder(schema, 1, 0)
	for i, name := range []string{"ada", "", "-"} {
		b.AppendCell(abi.AppendInt(nil, int32(i+1)))
		if name == "-" {
			b.AppendNull()
		} else {
			b.AppendCell([]byte(name))
		}
		if err := b.EndRow(); err != nil {
			panic(err)
		}
	}
	wire := b.Page().AppendEncoded(nil) // what the host writes into guest memory

	page, err := abi.DecodePage(wire) // what the plugin reads
	if err != nil {
		panic(err)
	}
	bitmap := make([]byte, abi.BitmapLen(page.NumRows()))
	for i, row := range page.Rows() {
		if _, null := row.Cell(1); !null {
			abi.BitmapSet(bitmap, i)
		}
	}
	res := abi.Result{Sections: []abi.Section{{Kind: abi.SectionSelect, NRows: page.NumRows(), Bitmap: bitmap}}}
	out := res.AppendEncoded(nil) // what the plugin returns a handle to

	got, err := abi.DecodeResult(out, page.NumRows(), abi.DefaultLimits) // what the host reads
	if err != nil {
		panic(err)
	}
	kept := page.Select(got.Sections[0].Bitmap)
	for _, row := range kept.Rows() {
		line, _ := abi.AppendJSONRow(nil, kept.Schema, row)
		fmt.Println(string(line))
	}
	// Output:
	// {"id":1,"name":"ada"}
	// {"id":2,"name":""}
}

func ExampleAppendJSON() {
	t, _ := abi.ParseType("map<text, frozen<list<int>>>")
	cell := abi.AppendMap(nil, [][]byte{
		[]byte("a"), abi.AppendList(nil, [][]byte{abi.AppendInt(nil, 1), nil}),
		[]byte("b"), abi.AppendList(nil, nil),
	})
	js, err := abi.AppendJSON(nil, t, cell)
	fmt.Println(string(js), err)
	back, _ := abi.EncodeJSON(t, map[string]any{"a": []any{1, nil}, "b": []any{}})
	fmt.Println(string(back) == string(cell))
	// Output:
	// {"a":[1,null],"b":[]} <nil>
	// true
}

func ExampleCheckVersion() {
	fmt.Println(abi.CheckVersion(0x00020000, abi.Version))
	// Output:
	// abi: plugin ABI version 2.0, host ABI version 1.0: a different major version is not supported (rebuild the plugin against ABI 1.x): incompatible ABI version
}
