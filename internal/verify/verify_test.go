package verify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/pagertest"
)

func TestMain(m *testing.M) { testutil.VerifyMain(m) }

const query = "SELECT id, key FROM fake"

func opts(sh pager.Shard) pager.Options {
	return pager.Options{Stream: "s", PageSize: 100, Prefetch: 1, Concurrency: 3, Retries: -1, Shard: sh,
		PageTimeout: time.Minute, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
}

// scan runs shard sh of a scan over src to its end (or its first stop
// pages) and returns its checkpoint, as the committer would save it.
func scan(t *testing.T, src *pagertest.Source, plan pager.Plan, sh pager.Shard, stop int) *pager.Checkpoint {
	t.Helper()
	pg, err := pager.New(src, plan, opts(sh), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := pg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pr := pg.Progress()
	for n := 0; stop == 0 || n < stop; n++ {
		d, err := pg.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := pr.Commit(d.Position); err != nil {
			t.Fatal(err)
		}
		d.Release()
	}
	return pr.Checkpoint(nil)
}

func fixture(t *testing.T) (*pagertest.Source, pager.Plan) {
	schema, pages := pagertest.KeyedTable(6, 3, 20, 4)
	plan, err := pagertest.Plan(query, 6)
	if err != nil {
		t.Fatal(err)
	}
	return &pagertest.Source{Schema: schema, Pages: pages}, plan
}

func input(src *pagertest.Source, plan pager.Plan, cps ...*pager.Checkpoint) Input {
	return Input{Stream: "s", Source: src, Query: plan.Query, QueryFingerprint: plan.Fingerprint, Checkpoints: cps, Paging: opts(pager.Shard{})}
}

func TestVerifyCompleteScan(t *testing.T) {
	src, plan := fixture(t)
	cps := []*pager.Checkpoint{scan(t, src, plan, pager.Shard{Index: 0, Count: 2}, 0), scan(t, src, plan, pager.Shard{Index: 1, Count: 2}, 0)}
	var progress []Progress
	in := input(src, plan, cps...)
	in.Progress = func(p Progress) { progress = append(progress, p) }
	rep, err := Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rep.Write(&b)
	if !rep.OK() || rep.Splits != 6 || rep.ScanRows != 360 || rep.RereadRows != 360 || rep.Reread != 6 || len(progress) != 6 {
		t.Fatalf("report:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "the splits cover the token ring exactly once") || !strings.Contains(b.String(), "0 range(s) differ") {
		t.Fatalf("report:\n%s", b.String())
	}

	// Verify sharded in two parts: each re-reads its splits only, and the
	// parts add up to the whole.
	var rows uint64
	for i := range 2 {
		in := input(src, plan, cps...)
		in.Paging = opts(pager.Shard{Index: i, Count: 2})
		rep, err := Run(context.Background(), in)
		if err != nil || !rep.OK() || rep.Reread != 3 {
			t.Fatalf("part %d: %+v, %v", i, rep, err)
		}
		rows += rep.RereadRows
	}
	if rows != 360 {
		t.Fatalf("parts re-read %d rows", rows)
	}
}

func TestVerifyReportsChangedRanges(t *testing.T) {
	src, plan := fixture(t)
	cps := []*pager.Checkpoint{scan(t, src, plan, pager.Shard{}, 0)}
	// Since the scan: a row of split 2 changed, a row of split 4 is gone.
	src.Pages[2][1][5] = pagertest.Row{pagertest.Int(7), []byte("changed")}
	src.Pages[4][0] = src.Pages[4][0][1:]
	rep, err := Run(context.Background(), input(src, plan, cps...))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rep.Write(&b)
	out := b.String()
	if rep.OK() || len(rep.Diffs) != 2 || rep.Diffs[0].Split.Index != 2 || rep.Diffs[1].Split.Index != 4 {
		t.Fatalf("report:\n%s", out)
	}
	if !strings.Contains(out, "DIFFERS: split 2 (") || !strings.Contains(out, "digest ") ||
		!strings.Contains(out, "DIFFERS: split 4 (") || !strings.Contains(out, "rows 60 when scanned, 59 now (-1)") {
		t.Fatalf("report:\n%s", out)
	}
}

func TestVerifyRefusesIncompleteScans(t *testing.T) {
	src, plan := fixture(t)
	s0 := scan(t, src, plan, pager.Shard{Index: 0, Count: 3}, 0)
	s1 := scan(t, src, plan, pager.Shard{Index: 1, Count: 3}, 2) // killed after 2 pages
	s2 := scan(t, src, plan, pager.Shard{Index: 2, Count: 3}, 0)
	other, _ := pagertest.Plan(query, 4)
	for _, tc := range []struct {
		name string
		cps  []*pager.Checkpoint
		want string
	}{
		{"missing_shard", []*pager.Checkpoint{s0, nil, s2}, "shard 1/3 saved no checkpoint"},
		{"unfinished_shard", []*pager.Checkpoint{s0, s1, s2}, "shard 1/3 is unfinished"},
		{"split_read_twice", []*pager.Checkpoint{s0, s0, s2}, "split 0 is in the checkpoints of shards 0 and 1: read twice"},
		{"other_plan", []*pager.Checkpoint{s0, scan(t, src, other, pager.Shard{Index: 1, Count: 3}, 0), s2}, "different queries or split plans"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), input(src, plan, tc.cps...))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			rep.Write(&b)
			if rep.OK() || rep.Reread != 0 || !strings.Contains(b.String(), tc.want) || !strings.Contains(b.String(), "not verified") {
				t.Fatalf("want %q; report:\n%s", tc.want, b.String())
			}
		})
	}
	// Two shards of three: a third of the ring is missing.
	rep, _ := Run(context.Background(), input(src, plan, s0, s2))
	var b bytes.Buffer
	rep.Write(&b)
	if rep.OK() || !strings.Contains(b.String(), "is of shard 2/3") {
		t.Fatalf("report:\n%s", b.String())
	}
}

func TestVerifyReportsRowsWritten(t *testing.T) {
	src, plan := fixture(t)
	cp := scan(t, src, plan, pager.Shard{}, 0)
	cp.Extra = map[string][]byte{"written/out": []byte(`{"0":60,"1":60,"2":60,"3":60,"4":60,"5":55,"-1":4}`)}
	src.Pages[5][0] = src.Pages[5][0][1:]
	rep, err := Run(context.Background(), input(src, plan, cp))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rep.Write(&b)
	if rep.Shards[0].Written["out"] != 359 || !strings.Contains(b.String(), "360 rows read; rows written: out 359") ||
		!strings.Contains(b.String(), "now; rows written: out 55") {
		t.Fatalf("report:\n%s", b.String())
	}
}
