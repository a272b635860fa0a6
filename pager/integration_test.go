package pager

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/testutil"
)

// Integration tests run against the real Cassandra node (scripts/cassandra)
// and fail when it is unreachable. Their data lives in the keyspace
// pager_it, owned by this package's tests.

const itKeyspace = "pager_it"

var itSetup sync.Mutex // serializes table loading between tests of this binary

// itSession returns the shared session and makes sure the keyspace exists.
func itSession(t testing.TB) *gocql.Session {
	t.Helper()
	s := testutil.Session(t)
	testutil.Exec(t, s, "CREATE KEYSPACE IF NOT EXISTS "+itKeyspace+" WITH replication = {'class':'SimpleStrategy','replication_factor':1}")
	return s
}

// loadOnce creates table (ddl) in pager_it and fills it with rows by
// insert(i) for i in [0, n), unless a previous run already did (a marker
// row in pager_it.loaded records complete loads).
//
// gocql v2.1.2 cannot bind a whole tuple to one marker of a prepared
// statement (it counts a tuple marker as one value per component), so rows
// bind tuples as "(?, ?)" and NULL tuples with a literal null.
func loadOnce(t testing.TB, s *gocql.Session, table, ddl string, n int, row func(i int) (string, []any)) {
	t.Helper()
	itSetup.Lock()
	defer itSetup.Unlock()
	testutil.Exec(t, s, "CREATE TABLE IF NOT EXISTS "+itKeyspace+".loaded (name text PRIMARY KEY, rows int, ddl text)")
	var rows int
	var have string
	err := s.Query("SELECT rows, ddl FROM "+itKeyspace+".loaded WHERE name = ?", table).Scan(&rows, &have)
	if err == nil && rows == n && have == ddl {
		return
	}
	if err != nil && !errors.Is(err, gocql.ErrNotFound) {
		t.Fatal(err)
	}
	t.Logf("loading %d rows into %s.%s", n, itKeyspace, table)
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+itKeyspace+"."+table)
	testutil.Exec(t, s, ddl)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			stmt, values := row(i)
			if err := s.Query(stmt, values...).Exec(); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("row %d: %w", i, err)
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	testutil.Exec(t, s, "INSERT INTO "+itKeyspace+".loaded (name, rows, ddl) VALUES (?, ?, ?)", table, n, ddl)
}

// The scan table: 20,000 rows in 5,000 partitions (composite partition
// key, 4 clustering rows each), mixed types, some nulls.
const (
	scanTable = "scan"
	scanRows  = 20000
	scanDDL   = "CREATE TABLE " + itKeyspace + "." + scanTable + ` (
	k1 int, k2 text, c int,
	txt text, n bigint, d double, b blob, flag boolean, ts timestamp,
	l list<int>, m map<text, int>, tp tuple<int, text>, v int,
	PRIMARY KEY ((k1, k2), c))`
	scanInsert = "INSERT INTO " + itKeyspace + "." + scanTable + " (k1, k2, c, txt, n, d, b, flag, ts, l, m, v, tp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
)

func scanRow(i int) (string, []any) {
	var txt any = fmt.Sprintf("row %d", i)
	if i%17 == 0 {
		txt = nil
	}
	vals := []any{i / 4, fmt.Sprintf("p%d", (i/4)%7), i % 4, txt, int64(i) * 1_000_003, float64(i) / 3,
		[]byte{byte(i), byte(i >> 8)}, i%2 == 0, time.UnixMilli(int64(i) * 1000).UTC(),
		[]int{i, i + 1}, map[string]int{"a": i}, i % 100}
	if i%5 == 0 {
		return scanInsert + "null)", vals
	}
	return scanInsert + "(?, ?))", append(vals, i, fmt.Sprint(i%3))
}

func loadScan(t testing.TB, s *gocql.Session) {
	loadOnce(t, s, scanTable, scanDDL, scanRows, scanRow)
}

// scanResult summarizes the rows a run delivered: a sorted list of row
// digests (a multiset: duplicates show up) over the raw cell bytes.
type scanResult struct {
	digests []string
	pages   int
	empty   int
}

func (r *scanResult) add(t testing.TB, d Delivery) {
	r.pages++
	if d.Page.NumRows() == 0 {
		r.empty++
	}
	for _, row := range d.Page.Rows() {
		h := sha256.Sum256(row.Bytes())
		r.digests = append(r.digests, string(h[:16]))
	}
}

func (r *scanResult) sorted() []string {
	out := slices.Clone(r.digests)
	slices.Sort(out)
	return out
}

// runScan pages a whole spec to the end and returns what it delivered.
func runScan(t *testing.T, s *gocql.Session, spec Spec, opts Options) (scanResult, *Pager) {
	t.Helper()
	var res scanResult
	p := scanSpec(t, s, spec, opts, nil, func(d Delivery) { res.add(t, d) })
	return res, p
}

// scanSpec pages spec to the end through a real CassandraSource (wrapped
// by wrap when not nil, e.g. to inject faults), handing every delivery to
// each. It returns the closed pager, for its stats.
func scanSpec(t *testing.T, s *gocql.Session, spec Spec, opts Options, wrap func(*CassandraSource) Source, each func(Delivery)) *Pager {
	t.Helper()
	ctx := context.Background()
	src, err := NewCassandraSource(ctx, s, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := src.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var source Source = src
	if wrap != nil {
		source = wrap(src)
	}
	p, err := New(source, plan, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		d, err := p.Next(ctx)
		if err == io.EOF {
			return p
		}
		if err != nil {
			t.Fatal(fmt.Errorf("stream %s: %w", opts.Stream, err))
		}
		each(d)
	}
}

func TestIntegrationSplitsUnionEqualsSingleScan(t *testing.T) {
	s := itSession(t)
	loadScan(t, s)
	defer leakCheck(t)()
	spec := Spec{Keyspace: itKeyspace, Table: scanTable}

	whole, p := runScan(t, s, spec, Options{Stream: "whole", PageSize: 500, Consistency: gocql.One})
	if len(whole.digests) != scanRows {
		t.Fatalf("single scan: %d rows, want %d", len(whole.digests), scanRows)
	}
	if len(p.Plan().Splits) != 1 || !p.Plan().Splits[0].Whole {
		t.Fatalf("splits=1 plan: %v", p.Plan().Splits)
	}
	want := whole.sorted()
	if len(slices.Compact(slices.Clone(want))) != scanRows {
		t.Fatal("the single scan repeated rows")
	}

	// Why no split may end at MinToken: Cassandra reads token <= MinToken
	// as "to the end of the ring", so (MinToken, MinToken] is everything.
	var n int
	if err := s.Query("SELECT count(*) FROM "+itKeyspace+"."+scanTable+" WHERE token(k1, k2) > ? AND token(k1, k2) <= ?", MinToken, MinToken).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != scanRows {
		t.Fatalf("(MinToken, MinToken] selects %d rows; the docs say Cassandra reads it as the whole ring (%d)", n, scanRows)
	}

	_, tokens, err := RingTokens(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ring: %d vnode tokens", len(tokens))
	for _, tc := range []struct {
		name          string
		splits, conc  int
		prefetch      int
		wantAtLeast   int
		coalescedRing bool
	}{
		{"fewer splits than vnode ranges", 3, 2, 1, 1, true},
		{"one per vnode range and more", 40, 4, 2, 40 / 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, p := runScan(t, s, spec, Options{Stream: "split", PageSize: 500, Splits: tc.splits, Concurrency: tc.conc, Prefetch: tc.prefetch, Consistency: gocql.One})
			n := len(p.Plan().Splits)
			if tc.coalescedRing && n > tc.splits || n < tc.wantAtLeast {
				t.Fatalf("%d splits wanted, plan has %d", tc.splits, n)
			}
			if got := res.sorted(); !slices.Equal(got, want) {
				t.Fatalf("%d splits delivered %d rows; the single scan %d (or other rows)", n, len(got), len(want))
			}
			t.Logf("%d splits, %d pages, %d empty", n, res.pages, res.empty)
		})
	}
	t.Run("shards", func(t *testing.T) {
		var all []string
		for i := 0; i < 3; i++ {
			res, p := runScan(t, s, spec, Options{Stream: "sharded", PageSize: 500, Splits: 12, Concurrency: 2, Shard: Shard{Index: i, Count: 3}, Consistency: gocql.One})
			for _, sp := range p.Splits() {
				if sp.Index%3 != i {
					t.Fatalf("shard %d/3 owns split %d", i, sp.Index)
				}
			}
			all = append(all, res.digests...)
		}
		slices.Sort(all)
		if !slices.Equal(all, want) {
			t.Fatalf("3 shards delivered %d rows, want %d exactly once", len(all), len(want))
		}
	})
	t.Run("where with token ranges", func(t *testing.T) {
		w := Spec{Keyspace: itKeyspace, Table: scanTable, Where: "v = ?", WhereArgs: []any{42}, AllowFiltering: true}
		res, p := runScan(t, s, w, Options{Stream: "where", PageSize: 50, Splits: 8, Concurrency: 4, Consistency: gocql.One})
		if len(res.digests) != scanRows/100 {
			t.Fatalf("where v = 42: %d rows, want %d", len(res.digests), scanRows/100)
		}
		t.Logf("query: %s", p.src.(*CassandraSource).TokenQuery())
	})
}

// Cassandra 5.0.8 fills every page of a filtering scan before answering (it
// keeps reading until page-size rows match or the range ends), so the only
// empty pages it sends are the last ones: after a full last page, or when
// nothing matches at all. Those are checked here; intermediate empty pages
// (empty rows, non-empty paging state) are proven with the fake source
// (TestEmptyIntermediatePagesDoNotEndTheSplit).
func TestIntegrationEmptyPages(t *testing.T) {
	s := itSession(t)
	loadScan(t, s)
	defer leakCheck(t)()
	t.Run("page size divides the row count", func(t *testing.T) {
		// 20,000 rows in pages of 500: Cassandra sends 40 full pages, then an
		// empty one with no paging state.
		res, p := runScan(t, s, Spec{Keyspace: itKeyspace, Table: scanTable, Columns: []string{"k1", "k2", "c"}},
			Options{Stream: "empty-tail", PageSize: 500, Consistency: gocql.One})
		if len(res.digests) != scanRows {
			t.Fatalf("%d rows, want %d", len(res.digests), scanRows)
		}
		t.Logf("%d pages, %d empty; stats %+v", res.pages, res.empty, p.Stats())
		if p.Stats().EmptyPages != uint64(res.empty) {
			t.Fatal("stats disagree")
		}
	})
	t.Run("filter matching nothing", func(t *testing.T) {
		res, p := runScan(t, s, Spec{Keyspace: itKeyspace, Table: scanTable, Where: "v = 1000", AllowFiltering: true},
			Options{Stream: "empty", PageSize: 100, Splits: 4, Consistency: gocql.One})
		if len(res.digests) != 0 || res.empty != res.pages || res.pages < len(p.Plan().Splits) {
			t.Fatalf("%d rows in %d pages (%d empty), %d splits", len(res.digests), res.pages, res.empty, len(p.Plan().Splits))
		}
	})
	t.Run("sparse filter with small pages", func(t *testing.T) {
		res, _ := runScan(t, s, Spec{Keyspace: itKeyspace, Table: scanTable, Where: "v = 7", AllowFiltering: true},
			Options{Stream: "sparse", PageSize: 3, Consistency: gocql.One})
		if len(res.digests) != scanRows/100 {
			t.Fatalf("%d rows, want %d", len(res.digests), scanRows/100)
		}
		t.Logf("%d pages, %d empty", res.pages, res.empty)
	})
}

func TestIntegrationCancelMidStream(t *testing.T) {
	s := itSession(t)
	loadScan(t, s)
	ctx := context.Background()
	src, err := NewCassandraSource(ctx, s, Spec{Keyspace: itKeyspace, Table: scanTable}, Options{Splits: 8, Consistency: gocql.One})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := src.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("consumer closes without draining", func(t *testing.T) {
		defer leakCheck(t)()
		p, err := New(src, plan, Options{Stream: "cancel", PageSize: 200, Splits: 8, Concurrency: 4, Prefetch: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if _, err := p.Next(ctx); err != nil {
				t.Fatal(err)
			}
		}
		p.Close()
		pages := p.Stats().Pages
		// Every fetcher has exited: the page count can no longer move.
		if p.Stats().Pages != pages {
			t.Fatal("pages fetched after Close returned")
		}
		if pages > 5+4*2 {
			t.Fatalf("%d pages fetched for 5 taken: more than concurrency×prefetch ahead", pages)
		}
	})
	t.Run("parent context cancelled", func(t *testing.T) {
		defer leakCheck(t)()
		p, err := New(src, plan, Options{Stream: "cancel", PageSize: 200, Concurrency: 4}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		cctx, cancel := context.WithCancel(ctx)
		if err := p.Start(cctx); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := p.Next(ctx); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		for {
			_, err := p.Next(ctx)
			if err == nil {
				continue // pages already queued may still come out before the failure is seen
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Next after cancel: %v, want context.Canceled", err)
			}
			break
		}
		p.Close()
	})
}

// A consumer processes some pages, committing and saving a checkpoint after
// each; the process "crashes" (the pager is dropped with pages in flight);
// a new pager resumes from the saved checkpoint. Together the two runs
// deliver every row exactly once.
func TestIntegrationResumeAfterCrash(t *testing.T) {
	s := itSession(t)
	loadScan(t, s)
	defer leakCheck(t)()
	ctx := context.Background()
	spec := Spec{Keyspace: itKeyspace, Table: scanTable}
	opts := Options{Stream: "resume", PageSize: 500, Splits: 6, Concurrency: 3, Prefetch: 2, Consistency: gocql.One}
	whole, _ := runScan(t, s, spec, Options{Stream: "whole", PageSize: 1000, Consistency: gocql.One})
	want := whole.sorted()

	fileStore, err := NewFileStore(t.TempDir(), Shard{})
	if err != nil {
		t.Fatal(err)
	}
	cassStore, err := NewCassandraStore(ctx, s, itKeyspace, "", Shard{}, gocql.One)
	if err != nil {
		t.Fatal(err)
	}
	if err := cassStore.Delete(ctx, opts.Stream); err != nil {
		t.Fatal(err)
	}
	for name, store := range map[string]CheckpointStore{"file": fileStore, "cassandra": cassStore} {
		t.Run(name, func(t *testing.T) {
			newPager := func() *Pager {
				src, err := NewCassandraSource(ctx, s, spec, opts)
				if err != nil {
					t.Fatal(err)
				}
				plan, err := src.Plan(ctx)
				if err != nil {
					t.Fatal(err)
				}
				p, err := New(src, plan, opts, nil)
				if err != nil {
					t.Fatal(err)
				}
				cp, err := store.Load(ctx, opts.Stream)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Resume(cp); err != nil {
					t.Fatal(err)
				}
				return p
			}
			var processed scanResult
			// Run 1: crash after 13 processed pages.
			p := newPager()
			if err := p.Start(ctx); err != nil {
				t.Fatal(err)
			}
			pr := p.Progress()
			for range 13 {
				d, err := p.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				processed.add(t, d)
				if err := pr.Commit(d.Position); err != nil {
					t.Fatal(err)
				}
				if err := store.Save(ctx, pr.Checkpoint(map[string][]byte{"sink": []byte(fmt.Sprint(len(processed.digests)))})); err != nil {
					t.Fatal(err)
				}
			}
			p.Close()
			// Run 2: resume and finish.
			p = newPager()
			defer p.Close()
			if err := p.Start(ctx); err != nil {
				t.Fatal(err)
			}
			pr = p.Progress()
			first := true
			for {
				d, err := p.Next(ctx)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if first && d.Page.Number != 14 {
					t.Fatalf("resumed page numbers start at %d, want 14", d.Page.Number)
				}
				first = false
				processed.add(t, d)
				if err := pr.Commit(d.Position); err != nil {
					t.Fatal(err)
				}
			}
			if err := store.Save(ctx, pr.Checkpoint(nil)); err != nil {
				t.Fatal(err)
			}
			if got := processed.sorted(); !slices.Equal(got, want) {
				t.Fatalf("crash + resume delivered %d rows, want %d exactly once", len(got), len(want))
			}
			// Run 3: everything is done; nothing is fetched.
			p3 := newPager()
			defer p3.Close()
			if err := p3.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := p3.Next(ctx); err != io.EOF {
				t.Fatalf("a finished checkpoint: Next = %v, want io.EOF", err)
			}
			if p3.Stats().Pages != 0 {
				t.Fatal("a finished stream fetched pages")
			}
		})
	}
}

func TestIntegrationCassandraStore(t *testing.T) {
	s := itSession(t)
	ctx := context.Background()
	stores := make([]*CassandraStore, 2)
	for i := range stores {
		st, err := NewCassandraStore(ctx, s, itKeyspace, "", Shard{Index: i, Count: 2}, gocql.One)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = st
	}
	if err := stores[0].Delete(ctx, "cs"); err != nil {
		t.Fatal(err)
	}
	if cp, err := stores[0].Load(ctx, "cs"); err != nil || cp != nil {
		t.Fatalf("empty store: %v, %v", cp, err)
	}
	splits := SplitRing(nil, 4)
	fp := Fingerprint("SELECT x FROM y", nil, splits)
	for i, st := range stores {
		cp := &Checkpoint{Version: CheckpointVersion, Stream: "cs", Fingerprint: fp, Shard: Shard{Index: i, Count: 2},
			Extra: map[string][]byte{"plugin": {byte(i), 0, 1}}, SavedAt: time.Now().UTC().Truncate(time.Millisecond)}
		for _, sp := range splits {
			if sp.Index%2 == i {
				pos := StartPosition(sp)
				pos.PageState, pos.Pages, pos.Rows = []byte{1, 2, byte(sp.Index)}, 3, 1500
				cp.Positions = append(cp.Positions, pos)
			}
		}
		if err := st.Save(ctx, cp); err != nil {
			t.Fatal(err)
		}
		// A second save with one split done: only that row changes.
		cp.Positions[0].Done, cp.Positions[0].PageState, cp.Positions[0].Pages = true, nil, 4
		if err := st.Save(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	for i := range stores {
		// A fresh store (another process) reads it back.
		st, err := NewCassandraStore(ctx, s, itKeyspace, "", Shard{Index: i, Count: 2}, gocql.One)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := st.Load(ctx, "cs")
		if err != nil {
			t.Fatal(err)
		}
		if cp.Fingerprint != fp || len(cp.Positions) != 2 || !cp.Positions[0].Done || cp.Positions[0].PageState != nil ||
			string(cp.Positions[1].PageState) != string([]byte{1, 2, byte(cp.Positions[1].Split)}) ||
			cp.Positions[1].Rows != 1500 || cp.Extra["plugin"][0] != byte(i) || cp.Shard.Count != 2 {
			t.Fatalf("shard %d loaded %+v", i, cp)
		}
		for _, p := range cp.Positions {
			if p.Split%2 != i {
				t.Fatalf("shard %d loaded split %d", i, p.Split)
			}
		}
	}
	// A shard saving with another plan makes the partition inconsistent.
	bad := &Checkpoint{Version: CheckpointVersion, Stream: "cs", Fingerprint: "other.plan", Shard: Shard{Index: 1, Count: 2}, SavedAt: time.Now()}
	if err := stores[1].Save(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[0].Load(ctx, "cs"); err == nil {
		t.Fatal("mixed fingerprints accepted")
	} else {
		t.Log(err)
	}
}

// Faults from the real driver: a per-page timeout is classified retryable
// (and the retries run out), an invalid query is not (one attempt). Both
// stop the stream with a *FetchError naming the split, page and resume
// position. A query invalid from the start is refused by
// NewCassandraSource (TestIntegrationSourceRefusesAtBuild), so the invalid
// query here is one that became invalid after the build: its table was
// dropped.
func TestIntegrationFaults(t *testing.T) {
	s := itSession(t)
	loadScan(t, s)
	defer leakCheck(t)()
	ctx := context.Background()
	run := func(spec Spec, opts Options, afterBuild func()) (*FetchError, error) {
		src, err := NewCassandraSource(ctx, s, spec, opts)
		if err != nil {
			t.Fatal(err)
		}
		if afterBuild != nil {
			afterBuild()
		}
		plan, err := src.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(src, plan, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for {
			_, err := p.Next(ctx)
			if err == io.EOF {
				t.Fatal("stream ended without the expected failure")
			}
			if err != nil {
				var fe *FetchError
				if !errors.As(err, &fe) {
					t.Fatalf("got %v, want a *FetchError", err)
				}
				t.Log(err)
				return fe, err
			}
		}
	}
	t.Run("page timeout is retried until the retries run out", func(t *testing.T) {
		fe, err := run(Spec{Keyspace: itKeyspace, Table: scanTable},
			Options{Stream: "timeouts", PageSize: 500, PageTimeout: time.Nanosecond, Retries: 2, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, Consistency: gocql.One}, nil)
		if !fe.Retryable || fe.Attempts != 3 || fe.Page != 1 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%+v", fe)
		}
	})
	t.Run("invalid query is not retried", func(t *testing.T) {
		const gone = itKeyspace + ".faults_gone"
		testutil.Exec(t, s, "DROP TABLE IF EXISTS "+gone)
		testutil.Exec(t, s, "CREATE TABLE "+gone+" (k int PRIMARY KEY, v int)")
		testutil.Exec(t, s, "INSERT INTO "+gone+" (k, v) VALUES (1, 1)")
		fe, err := run(Spec{Keyspace: itKeyspace, Table: "faults_gone"},
			Options{Stream: "invalid", Splits: 4, Retries: 5, Consistency: gocql.One},
			func() { testutil.Exec(t, s, "DROP TABLE "+gone) })
		if fe.Retryable || fe.Attempts != 1 || fe.Stream != "invalid" {
			t.Fatalf("%+v", fe)
		}
		var re gocql.RequestError
		if !errors.As(err, &re) || re.Code() != gocql.ErrCodeInvalid {
			t.Fatalf("cause %v does not unwrap to the driver's invalid-request error", err)
		}
	})
}

// flakySource wraps the real source and fails the first attempts of some
// pages with a connection loss after the real request: alternately as the
// response arrives (Request fails, the response is released) and after
// the rows were scanned (Decode fails, the page is thrown away), as when a
// connection drops mid-response. A failed decode also throws away the
// request the pager sent ahead of it.
type flakySource struct {
	inner Source
	mu    sync.Mutex
	fails map[[2]uint64]int // (split, page) -> failures left
	seen  map[[2]uint64]int // (split, page) -> failures so far
}

func (f *flakySource) failNow(req Request) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := [2]uint64{uint64(req.Split.Index), req.Page}
	if f.fails[key] == 0 {
		return false
	}
	f.fails[key]--
	if f.seen == nil {
		f.seen = map[[2]uint64]int{}
	}
	f.seen[key]++
	return true
}

func (f *flakySource) Request(ctx context.Context, req Request) (Response, error) {
	r, err := f.inner.Request(ctx, req)
	if err != nil {
		return nil, err
	}
	if !f.failNow(req) {
		return r, nil
	}
	f.mu.Lock()
	atRequest := f.seen[[2]uint64{uint64(req.Split.Index), req.Page}]%2 == 1
	f.mu.Unlock()
	if atRequest {
		r.Close()
		return nil, fmt.Errorf("receiving page: %w", gocql.ErrConnectionClosed)
	}
	return &flakyResponse{Response: r}, nil
}

// flakyResponse fails its decode after the real one.
type flakyResponse struct{ Response }

func (r *flakyResponse) Decode(ctx context.Context, b *abi.PageBuilder) error {
	if err := r.Response.Decode(ctx, b); err != nil {
		return err
	}
	return fmt.Errorf("reading page: %w", gocql.ErrConnectionClosed)
}

func TestIntegrationRetryLosesAndRepeatsNothing(t *testing.T) {
	s := itSession(t)
	loadScan(t, s)
	defer leakCheck(t)()
	whole, _ := runScan(t, s, Spec{Keyspace: itKeyspace, Table: scanTable}, Options{Stream: "whole", PageSize: 1000, Consistency: gocql.One})
	opts := Options{Stream: "flaky", PageSize: 300, Splits: 4, Concurrency: 2, Retries: 3, BackoffBase: time.Millisecond, BackoffMax: 4 * time.Millisecond, Consistency: gocql.One}
	var res scanResult
	p := scanSpec(t, s, Spec{Keyspace: itKeyspace, Table: scanTable}, opts,
		func(src *CassandraSource) Source {
			return &flakySource{inner: src, fails: map[[2]uint64]int{{0, 1}: 1, {1, 3}: 2, {2, 5}: 3, {3, 2}: 1}}
		},
		func(d Delivery) { res.add(t, d) })
	if got, want := res.sorted(), whole.sorted(); !slices.Equal(got, want) {
		t.Fatalf("with retries: %d rows, want %d exactly once", len(got), len(want))
	}
	if r := p.Stats().Retries; r != 7 {
		t.Fatalf("%d retries, want 7", r)
	}
}
