package pager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/internal/testutil"
)

// Benchmarks over one table of benchRows rows (~10 mixed columns) in the
// keyspace sluice_bench, created and loaded on first use:
//
//	go test ./pager -run '^$' -bench 'Scan' -benchtime 5x
//
// BenchmarkRawDriverScan is the floor: gocql's own auto-paging loop
// scanning every cell into a destination that only counts bytes (no copy,
// no decoding); BenchmarkPagerScan pages the same table through the pager
// (cells copied into ABI pages, prefetch, delivery); the Splits variants
// page token ranges in parallel. Each reports rows/s.

const (
	benchKeyspace = "sluice_bench"
	benchTable    = "rows"
	benchRows     = 200_000
	benchPerPart  = 10
	benchPageSize = 5000
)

var benchLoad sync.Once

func benchSession(b *testing.B) *gocql.Session {
	b.Helper()
	s := testutil.Session(b)
	var err error
	benchLoad.Do(func() { err = loadBench(s) })
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// loadBench creates and fills sluice_bench.rows unless a previous run did
// (a marker row records a complete load).
func loadBench(s *gocql.Session) error {
	ctx := context.Background()
	exec := func(stmt string, args ...any) error {
		if err := s.Query(stmt, args...).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
		return nil
	}
	if err := exec("CREATE KEYSPACE IF NOT EXISTS " + benchKeyspace + " WITH replication = {'class':'SimpleStrategy','replication_factor':1}"); err != nil {
		return err
	}
	if err := exec("CREATE TABLE IF NOT EXISTS " + benchKeyspace + ".loaded (name text PRIMARY KEY, rows int)"); err != nil {
		return err
	}
	var n int
	err := s.Query("SELECT rows FROM "+benchKeyspace+".loaded WHERE name = ?", benchTable).WithContext(ctx).Scan(&n)
	if err == nil && n == benchRows {
		return nil
	}
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		return err
	}
	if err := exec("DROP TABLE IF EXISTS " + benchKeyspace + "." + benchTable); err != nil {
		return err
	}
	if err := exec("CREATE TABLE " + benchKeyspace + "." + benchTable + ` (
		k int, c int, name text, email text, score double, n bigint, flag boolean,
		ts timestamp, u uuid, tags list<text>, payload blob,
		PRIMARY KEY (k, c))`); err != nil {
		return err
	}
	ins := "INSERT INTO " + benchKeyspace + "." + benchTable + " (k, c, name, email, score, n, flag, ts, u, tags, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	payload := make([]byte, 48)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for k := 0; k < benchRows/benchPerPart; k++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			defer func() { <-sem }()
			batch := s.Batch(gocql.UnloggedBatch).WithContext(ctx) // one partition: applied as one mutation
			for c := 0; c < benchPerPart; c++ {
				i := k*benchPerPart + c
				batch.Query(ins, k, c, fmt.Sprintf("name %d", i), fmt.Sprintf("user%d@example.com", i), float64(i)*0.5,
					int64(i)*7919, i%3 == 0, time.UnixMilli(1_700_000_000_000+int64(i)), gocql.UUIDFromTime(time.Unix(int64(i), 0)),
					[]string{"t1", fmt.Sprint(i % 10)}, payload)
			}
			if err := batch.Exec(); err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		}(k)
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return *e
	}
	return exec("INSERT INTO "+benchKeyspace+".loaded (name, rows) VALUES (?, ?)", benchTable, benchRows)
}

// countDest counts the bytes of every cell and keeps nothing.
type countDest struct{ n *int }

func (d countDest) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	*d.n += len(data)
	return nil
}

func reportRows(b *testing.B, rows int64, start time.Time) {
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}

func BenchmarkRawDriverScan(b *testing.B) {
	s := benchSession(b)
	stmt := "SELECT * FROM " + benchKeyspace + "." + benchTable
	b.ResetTimer()
	start := time.Now()
	var total int64
	for range b.N {
		it := s.Query(stmt).PageSize(benchPageSize).Consistency(gocql.One).Iter()
		var bytes int
		dests := make([]any, len(it.Columns()))
		for i := range dests {
			dests[i] = countDest{&bytes}
		}
		rows := 0
		for it.Scan(dests...) {
			rows++
		}
		if err := it.Close(); err != nil {
			b.Fatal(err)
		}
		if rows != benchRows {
			b.Fatalf("%d rows, want %d", rows, benchRows)
		}
		total += int64(rows)
	}
	reportRows(b, total, start)
}

// BenchmarkRawDriverScanSplits is the raw loop over the pager's 8-split
// plan with 4 goroutines, the floor for the split variants.
func BenchmarkRawDriverScanSplits(b *testing.B) {
	s := benchSession(b)
	ctx := context.Background()
	src, err := NewCassandraSource(ctx, s, Spec{Keyspace: benchKeyspace, Table: benchTable}, Options{Splits: 8})
	if err != nil {
		b.Fatal(err)
	}
	plan, err := src.Plan(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var total atomic.Int64
	for range b.N {
		work := make(chan Split, len(plan.Splits))
		for _, sp := range plan.Splits {
			work <- sp
		}
		close(work)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for sp := range work {
					it := s.Query(src.TokenQuery(), sp.Lo, sp.Hi).PageSize(benchPageSize).Consistency(gocql.One).Iter()
					var bytes int
					dests := make([]any, len(it.Columns()))
					for i := range dests {
						dests[i] = countDest{&bytes}
					}
					for it.Scan(dests...) {
						total.Add(1)
					}
					if err := it.Close(); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		wg.Wait()
	}
	if total.Load() != int64(b.N)*benchRows {
		b.Fatalf("%d rows, want %d", total.Load(), int64(b.N)*benchRows)
	}
	reportRows(b, total.Load(), start)
}

func benchPager(b *testing.B, opts Options) {
	s := benchSession(b)
	ctx := context.Background()
	opts.Stream, opts.PageSize, opts.Consistency = "bench", benchPageSize, gocql.One
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
		rows := 0
		for {
			d, err := p.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows += d.Page.NumRows()
		}
		p.Close()
		if rows != benchRows {
			b.Fatalf("%d rows, want %d", rows, benchRows)
		}
		total += int64(rows)
	}
	reportRows(b, total, start)
}

func BenchmarkPagerScan(b *testing.B) { benchPager(b, Options{Splits: 1, Prefetch: 1}) }

func BenchmarkPagerScanSplits(b *testing.B) {
	benchPager(b, Options{Splits: 8, Concurrency: 4, Prefetch: 1})
}
