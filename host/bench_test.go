package host

import (
	"context"
	"testing"
)

// Benchmarks of the host side of one call per page: pages of 1000 rows of
// 10 mixed columns (testSchema), already in memory.
//
//	go test -run '^$' -bench 'BenchmarkHost' -benchtime 2s ./host/
//
// They report ns/row and rows/s; the goal is >= 5 M rows/s on a 2-core
// machine for the no-op plugin.

const benchRows = 1000

func benchPlugin(b *testing.B, fixtureName string, wantRows int) {
	r := newRuntime(b, RuntimeConfig{})
	inst := instantiate(b, compileFixture(b, r, fixtureName), InstanceConfig{})
	page := makePage(b, 1, benchRows)
	ctx := context.Background()
	b.SetBytes(int64(page.EncodedLen()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := inst.Process(ctx, page)
		if err != nil {
			b.Fatal(err)
		}
		if out.Rows("") != wantRows {
			b.Fatalf("%d rows out, want %d", out.Rows(""), wantRows)
		}
	}
	reportRows(b, benchRows)
}

func reportRows(b *testing.B, rowsPerOp int) {
	rows := float64(b.N) * float64(rowsPerOp)
	sec := b.Elapsed().Seconds()
	b.ReportMetric(b.Elapsed().Seconds()*1e9/rows, "ns/row")
	b.ReportMetric(rows/sec, "rows/s")
}

// BenchmarkHostNoop: a plugin that returns handle 0 (pass every row).
func BenchmarkHostNoop(b *testing.B) { benchPlugin(b, "passthrough", benchRows) }

// BenchmarkHostSelectFilter: a plugin that keeps every other row with a
// SELECT section (the host decodes the result and builds a selection view).
func BenchmarkHostSelectFilter(b *testing.B) { benchPlugin(b, "filter_even", benchRows/2) }

// BenchmarkHostChain: filter_even then a no-op plugin: the selection is
// materialized for the second plugin.
func BenchmarkHostChain(b *testing.B) {
	r := newRuntime(b, RuntimeConfig{})
	chain := NewChain(
		instantiate(b, compileFixture(b, r, "filter_even"), InstanceConfig{}),
		instantiate(b, compileFixture(b, r, "passthrough"), InstanceConfig{}),
	)
	page := makePage(b, 1, benchRows)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := chain.Process(ctx, page)
		if err != nil {
			b.Fatal(err)
		}
		if out.Rows("") != benchRows/2 {
			b.Fatalf("%d rows", out.Rows(""))
		}
	}
	reportRows(b, benchRows)
}
