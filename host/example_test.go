package host_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
)

// A stream worker's view: one runtime per process, a module compiled once,
// an instance per worker goroutine, pages through a chain.
func Example() {
	ctx := context.Background()
	rt, err := host.NewRuntime(ctx, host.RuntimeConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close(ctx)

	// testdata/filter_even.wasm keeps rows 0, 2, 4... with a SELECT section.
	mod, err := rt.CompileFile(ctx, "filter", "testdata/filter_even.wasm")
	if err != nil {
		log.Fatal(err) // a *host.PluginError of kind KindLoad
	}
	defer mod.Close(ctx)
	inst, err := mod.Instantiate(ctx, host.InstanceConfig{Stream: "users"})
	if err != nil {
		log.Fatal(err)
	}
	chain := host.NewChain(inst) // owns inst from now on
	defer chain.Close(ctx)

	schema := abi.NewSchema(abi.Column{Name: "n", Type: abi.Type{ID: abi.TypeInt}})
	b := abi.NewPageBuilder(schema, 1, 0)
	for i := range 5 {
		b.AppendCell(abi.AppendInt(nil, int32(i)))
		if err := b.EndRow(); err != nil {
			log.Fatal(err)
		}
	}
	out, err := chain.Process(ctx, b.Page())
	if err != nil {
		log.Fatal(err) // a *host.PluginError: plugin, module, page, row, stack...
	}
	for _, batch := range out.Default() {
		for _, row := range batch.Each() {
			cell, _ := row.Cell(0)
			v, _ := abi.DecodeInt(cell)
			fmt.Print(v, " ")
		}
	}
	fmt.Println()
	// Output: 0 2 4
}
