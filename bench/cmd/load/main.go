// Command load creates a benchmark table of bench/run (see package
// bench/internal/wide for its schema) and fills it with -rows generated
// rows. A completed load is recorded in sluice_bench.loaded; when that
// marker already says -rows for the table, load does nothing, so a second
// bench/run starts measuring at once. A table holding another count is
// dropped and loaded again, so counts are always exact.
//
// Writes are single-row INSERTs (uuid keys: every row is its own
// partition, so batches would only add coordinator work), sent
// asynchronously with -concurrency requests in flight and retried a few
// times when the node is overloaded.
//
//	go run ./bench/cmd/load -table wide -rows 1000000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/bench/internal/wide"
)

func main() {
	host := flag.String("host", "127.0.0.1:9042", "Cassandra contact point host:port")
	table := flag.String("table", "wide", "table in keyspace "+wide.Keyspace)
	rows := flag.Int64("rows", 1_000_000, "rows to load")
	conc := flag.Int("concurrency", 128, "INSERTs in flight")
	force := flag.Bool("force", false, "load even when the marker says the rows are there")
	flag.Parse()
	if err := run(*host, *table, *rows, *conc, *force); err != nil {
		fmt.Fprintln(os.Stderr, "bench load:", err)
		os.Exit(1)
	}
}

func run(host, table string, n int64, conc int, force bool) error {
	if err := wide.CheckTable(table); err != nil {
		return err
	}
	if n < 1 || n > 1<<31-1 {
		return fmt.Errorf("-rows %d: want 1..%d", n, 1<<31-1)
	}
	if conc < 1 {
		return fmt.Errorf("-concurrency %d: want at least 1", conc)
	}
	cl := wide.Cluster(host)
	cl.NumConns = 2
	s, err := cl.CreateSession()
	if err != nil {
		return fmt.Errorf("connect to %s: %w", host, err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, st := range wide.DDL(table) {
		if err := s.Query(st).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("%.60s: %w", st, err)
		}
	}
	var have int
	err = s.Query("SELECT rows FROM "+wide.Keyspace+"."+wide.MarkerTable+" WHERE name = ?", table).WithContext(ctx).Scan(&have)
	switch {
	case errors.Is(err, gocql.ErrNotFound):
	case err != nil:
		return fmt.Errorf("read marker %s.%s: %w", wide.Keyspace, wide.MarkerTable, err)
	case int64(have) == n && !force:
		fmt.Fprintf(os.Stderr, "bench load: %s.%s already holds %d rows; skipping\n", wide.Keyspace, table, n)
		return nil
	}
	// Anything else (a partial load, another size): start from an empty
	// table. The marker goes first, so an interrupted load is never taken
	// for a complete one.
	if err := s.Query("DELETE FROM "+wide.Keyspace+"."+wide.MarkerTable+" WHERE name = ?", table).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("clear marker: %w", err)
	}
	if err := s.Query("TRUNCATE " + wide.Keyspace + "." + table).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("truncate %s.%s: %w", wide.Keyspace, table, err)
	}

	start := time.Now()
	ins := wide.Insert(table)
	var (
		next     atomic.Int64
		done     atomic.Int64
		firstErr error
		errOnce  sync.Once
		failed   atomic.Bool
		wg       sync.WaitGroup
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				if err := insert(ctx, s, ins, i); err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
				if d := done.Add(1); d%200_000 == 0 {
					el := time.Since(start)
					fmt.Fprintf(os.Stderr, "bench load: %s.%s: %d of %d rows (%.0f rows/s)\n", wide.Keyspace, table, d, n, float64(d)/el.Seconds())
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := s.Query("INSERT INTO "+wide.Keyspace+"."+wide.MarkerTable+" (name, rows) VALUES (?, ?)", table, int(n)).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "bench load: loaded %d rows into %s.%s in %s (%.0f rows/s)\n", n, wide.Keyspace, table, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

// insert writes row i, retrying timeouts and overload with a backoff: a
// 2-core machine shared with other work makes the node shed load now and
// then, which should slow the load down, not fail it.
func insert(ctx context.Context, s *gocql.Session, stmt string, i int64) error {
	vals := wide.Make(i).Values()
	var err error
	for attempt := range 6 {
		err = s.Query(stmt, vals...).WithContext(ctx).Idempotent(true).Exec()
		if err == nil {
			return nil
		}
		if !retryable(err) {
			break
		}
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
	}
	return fmt.Errorf("insert row %d: %w", i, err)
}

func retryable(err error) bool {
	var wt *gocql.RequestErrWriteTimeout
	var un *gocql.RequestErrUnavailable
	var re gocql.RequestError
	if errors.As(err, &re) && re.Code() == gocql.ErrCodeOverloaded {
		return true
	}
	return errors.Is(err, gocql.ErrTimeoutNoResponse) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &wt) || errors.As(err, &un) || errors.Is(err, gocql.ErrConnectionClosed) ||
		errors.Is(err, gocql.ErrNoConnections)
}
