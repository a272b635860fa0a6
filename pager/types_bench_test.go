package pager

import (
	"context"
	"io"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/internal/testutil"
)

// The cost of sluice's type registry (cqltype.Types): the same scan as
// BenchmarkPagerScan through a session with sluice's registry and through
// one with the driver's own, run side by side:
//
//	go test -run XXX -bench 'PagerScanRegistry' -benchtime 3x -count 3 ./pager/
//
// The registry is consulted once per page (result metadata), never per row.

func BenchmarkPagerScanRegistrySluice(b *testing.B) { benchRegistry(b, true) }

func BenchmarkPagerScanRegistryDriver(b *testing.B) { benchRegistry(b, false) }

func benchRegistry(b *testing.B, sluice bool) {
	benchSession(b) // loads the table
	c := testutil.Cluster()
	if !sluice {
		c.RegisteredTypes = nil // the driver's GlobalTypes
	}
	s, err := c.CreateSession()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	opts := Options{Splits: 1, Prefetch: 1, Stream: "bench", PageSize: benchPageSize, Consistency: gocql.One}
	src, err := NewCassandraSource(ctx, s, Spec{Keyspace: benchKeyspace, Table: benchTable}, opts)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := src.Plan(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var total int64
	for range b.N {
		p, err := New(src, plan, opts, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			b.Fatal(err)
		}
		for {
			d, err := p.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			total += int64(d.Page.NumRows())
		}
		p.Close()
	}
	reportRows(b, total, start)
}
