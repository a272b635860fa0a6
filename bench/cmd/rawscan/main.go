// Command rawscan is the reference of bench/run: it reads a whole table
// with the gocql driver alone and reports rows/s, so sluice's throughput
// can be compared with what the driver itself can do on the same node.
//
// Every cell is captured with a gocql.Unmarshaler that copies the cell's
// raw bytes into a reused buffer: no decoding, no allocation per cell,
// only the one copy any consumer must make because the driver reuses its
// frame buffers. That is the least work a client can do with the rows, so
// this is a floor for sluice, which copies the same bytes into ABI pages.
//
// Modes:
//
//	-mode single    one query, the driver's own paging (Iter.Scan across
//	                pages, -prefetch ahead), or -paging manual: one query per
//	                page with Query.PageState, the next page requested as
//	                soon as the current one arrived (-prefetch is ignored),
//	                or -paging manual-serial: the next page requested only
//	                once the current one is scanned (as sluice's pager does)
//	-mode parallel  -splits equal token ranges of the Murmur3 ring, read
//	                by -workers goroutines, each with the driver's paging
//
// The result is one JSON line on stdout:
//
//	{"tool":"rawscan","mode":"single","rows":1000000,"bytes":...,"seconds":...,"rows_per_s":...}
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/bench/internal/wide"
)

type options struct {
	host     string
	table    string
	mode     string
	paging   string
	pageSize int
	prefetch float64
	workers  int
	splits   int
	expect   int64
	cpuProf  string
	proto    int
}

type result struct {
	Tool     string  `json:"tool"`
	Mode     string  `json:"mode"`
	Paging   string  `json:"paging,omitempty"`
	Workers  int     `json:"workers,omitempty"`
	Splits   int     `json:"splits,omitempty"`
	Rows     int64   `json:"rows"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	RowsPerS float64 `json:"rows_per_s"`
}

func main() {
	var o options
	flag.StringVar(&o.host, "host", "127.0.0.1:9042", "Cassandra contact point host:port")
	flag.StringVar(&o.table, "table", "wide", "table in keyspace "+wide.Keyspace)
	flag.StringVar(&o.mode, "mode", "single", "single or parallel")
	flag.StringVar(&o.paging, "paging", "auto", "single mode: auto (driver paging with prefetch), manual (PageState, one query per page, the next requested before the current is scanned) or manual-serial (the next requested after the current is scanned)")
	flag.IntVar(&o.pageSize, "page-size", 5000, "rows per page")
	flag.Float64Var(&o.prefetch, "prefetch", 0.25, "auto paging: fetch the next page when this share of the current page is left (0..1)")
	flag.IntVar(&o.workers, "workers", 4, "parallel mode: goroutines")
	flag.IntVar(&o.splits, "splits", 16, "parallel mode: token ranges")
	flag.Int64Var(&o.expect, "expect", 0, "fail unless exactly this many rows are read (0 = do not check)")
	flag.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile of the scan here (\"\" = none)")
	flag.IntVar(&o.proto, "proto", 0, "native protocol version (0 = negotiate; bench/cmd/cqlreplay needs 4)")
	flag.Parse()
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawscan:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "rawscan:", err)
		os.Exit(1)
	}
}

func run(o options) (result, error) {
	if err := wide.CheckTable(o.table); err != nil {
		return result{}, err
	}
	if o.pageSize < 1 || o.prefetch < 0 || o.prefetch > 1 {
		return result{}, fmt.Errorf("-page-size %d / -prefetch %g: want a positive page size and a prefetch in 0..1", o.pageSize, o.prefetch)
	}
	cl := wide.Cluster(o.host)
	cl.ProtoVersion = o.proto
	cl.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	s, err := cl.CreateSession()
	if err != nil {
		return result{}, fmt.Errorf("connect to %s: %w", o.host, err)
	}
	defer s.Close()
	ctx := context.Background()
	stmt := "SELECT * FROM " + wide.Keyspace + "." + o.table

	res := result{Tool: "rawscan", Mode: o.mode}
	var counter counter
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			return res, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return res, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	switch o.mode {
	case "single":
		res.Paging = o.paging
		switch o.paging {
		case "auto":
			err = scanAuto(ctx, s, o, s.Query(stmt), &counter)
		case "manual":
			err = scanManual(ctx, s, o, stmt, &counter)
		case "manual-serial":
			err = scanManualSerial(ctx, s, o, stmt, &counter)
		default:
			return res, fmt.Errorf("-paging %q: want auto, manual or manual-serial", o.paging)
		}
	case "parallel":
		if o.workers < 1 || o.splits < o.workers {
			return res, fmt.Errorf("-workers %d -splits %d: want 1 <= workers <= splits", o.workers, o.splits)
		}
		res.Workers, res.Splits = o.workers, o.splits
		err = scanParallel(ctx, s, o, stmt+" WHERE token(id) > ? AND token(id) <= ?", &counter)
	default:
		return res, fmt.Errorf("-mode %q: want single or parallel", o.mode)
	}
	el := time.Since(start)
	if err != nil {
		return res, err
	}
	res.Rows, res.Bytes = counter.rows.Load(), counter.bytes.Load()
	res.Seconds = el.Seconds()
	res.RowsPerS = float64(res.Rows) / el.Seconds()
	if o.expect > 0 && res.Rows != o.expect {
		return res, fmt.Errorf("read %d rows of %s.%s, expected %d", res.Rows, wide.Keyspace, o.table, o.expect)
	}
	return res, nil
}

type counter struct{ rows, bytes atomic.Int64 }

// rowBuf receives the cells of one row: each destination appends its
// cell's bytes (length-prefixed, -1 for NULL, like an ABI page row).
type rowBuf struct{ b []byte }

type cellDest struct{ r *rowBuf }

func (d cellDest) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	if data == nil {
		d.r.b = append(d.r.b, 0xFF, 0xFF, 0xFF, 0xFF)
		return nil
	}
	n := len(data)
	d.r.b = append(d.r.b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	d.r.b = append(d.r.b, data...)
	return nil
}

// scanIter drains it into a reused row buffer and counts rows and bytes.
func scanIter(it *gocql.Iter, c *counter) error {
	var rb rowBuf
	dests := make([]any, len(it.Columns()))
	for i := range dests {
		dests[i] = cellDest{&rb}
	}
	var rows, bytes int64
	for {
		rb.b = rb.b[:0]
		if !it.Scan(dests...) {
			break
		}
		rows++
		bytes += int64(len(rb.b))
	}
	c.rows.Add(rows)
	c.bytes.Add(bytes)
	return it.Close()
}

func scanAuto(ctx context.Context, s *gocql.Session, o options, q *gocql.Query, c *counter) error {
	it := q.WithContext(ctx).PageSize(o.pageSize).Prefetch(o.prefetch).Consistency(gocql.One).Iter()
	return scanIter(it, c)
}

// scanManual pages with PageState, one query per page; a goroutine
// fetches page k+1 while page k is scanned (the paging state of a page is
// known as soon as its frame arrived).
func scanManual(ctx context.Context, s *gocql.Session, o options, stmt string, c *counter) error {
	type page struct {
		it  *gocql.Iter
		err error
	}
	pages := make(chan page, 1)
	go func() {
		defer close(pages)
		var state []byte
		for {
			it := s.Query(stmt).WithContext(ctx).PageSize(o.pageSize).Consistency(gocql.One).PageState(state).Iter()
			state = it.PageState()
			pages <- page{it: it}
			if len(state) == 0 {
				return
			}
		}
	}()
	var errs []error
	for p := range pages {
		if err := scanIter(p.it, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// scanManualSerial pages with PageState and requests page k+1 only once
// page k is scanned: the node idles while the client scans. It exists to
// measure what overlapping the two is worth (compare with -paging manual).
func scanManualSerial(ctx context.Context, s *gocql.Session, o options, stmt string, c *counter) error {
	var state []byte
	for {
		it := s.Query(stmt).WithContext(ctx).PageSize(o.pageSize).Consistency(gocql.One).PageState(state).Iter()
		state = it.PageState()
		if err := scanIter(it, c); err != nil {
			return err
		}
		if len(state) == 0 {
			return nil
		}
	}
}

// scanParallel splits the Murmur3 ring (-2^63, 2^63-1] into o.splits equal
// ranges and reads them with o.workers goroutines.
func scanParallel(ctx context.Context, s *gocql.Session, o options, stmt string, c *counter) error {
	type span struct{ lo, hi int64 }
	work := make(chan span, o.splits)
	width := uint64(math.MaxUint64) / uint64(o.splits)
	lo := int64(math.MinInt64)
	for i := range o.splits {
		hi := int64(uint64(lo) + width)
		if i == o.splits-1 {
			hi = math.MaxInt64
		}
		work <- span{lo, hi}
		lo = hi
	}
	close(work)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	for range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sp := range work {
				if err := scanAuto(ctx, s, o, s.Query(stmt, sp.lo, sp.hi), c); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("range (%d, %d]: %v", sp.lo, sp.hi, err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
