// Package verify checks a finished scan against its checkpoints and
// against the table as it is now (sluice verify).
//
// The final checkpoint of every shard is the scan's manifest: for each
// split (token range) it holds the rows read and a digest of the raw cells
// read (pager.Position.Rows and Digest). Verify
//
//  1. loads the checkpoint of every shard of the scan and checks that each
//     is complete, that they are of one query, and that their splits cover
//     the token ring exactly once (no range missing, none read twice);
//  2. re-reads those very ranges (not the ring as it is now, which may
//     have moved), split by split, with the pager, and reports every range
//     whose row count or digest differs, so a user can re-scan just those.
//
// The re-read is split like the scan (Options.Concurrency splits at a
// time) and may itself be sharded (Options.Shard: verify part i of M
// re-reads the splits whose index % M == i).
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/stream"
	"github.com/sluicehq/sluice/pager"
)

// Input is one stream to verify.
type Input struct {
	Stream string
	// Source re-reads the table; Query is its normalized query and
	// QueryFingerprint the fingerprint of the source's current plan (only
	// its query part is compared: the ring may have moved since).
	Source           pager.Source
	Query            string
	QueryFingerprint string
	// Checkpoints are the scan's checkpoints by shard index (len = the
	// scan's shard count); nil = that shard saved none.
	Checkpoints []*pager.Checkpoint
	// Paging configures the re-read (Stream, PageSize, Concurrency,
	// Retries...); Paging.Shard is verify's own part.
	Paging pager.Options
	// Progress, when set, is called after each split re-read.
	Progress func(Progress)
	// NoReread stops after the checks of the checkpoints.
	NoReread bool
}

// Progress of the re-read.
type Progress struct {
	Splits, Of int
	Rows       uint64
	Elapsed    time.Duration
}

// Report is the verdict on one stream.
type Report struct {
	Stream string
	Shards []Shard
	// Problems are what makes the checkpoints unusable as a manifest
	// (missing or unfinished shards, splits missing or read twice,
	// different queries): no re-read happens when there are any.
	Problems []string
	Splits   int    // splits of the scan
	ScanRows uint64 // rows the scan read (all shards)
	// Re-read (of this part only).
	Part         pager.Shard
	Reread       int    // splits re-read
	RereadRows   uint64 // rows they hold now
	RereadOfScan uint64 // rows the scan read in those splits
	Diffs        []Diff
	RereadDone   bool // the re-read ran (not NoReread)
	NoDigest     int  // splits re-read whose checkpoint has no digest (older sluice): counts only
	Elapsed      time.Duration
}

// Shard is what the checkpoint of one shard of the scan says.
type Shard struct {
	Index, Count int
	Found        bool
	Done         bool
	Run          string
	SavedAt      time.Time
	Splits       int
	Rows         uint64
	// Written is the rows given to each sink (all splits, flush outputs
	// included); nil for a checkpoint of an older sluice.
	Written map[string]uint64
}

// Diff is a range whose rows differ between the scan and now.
type Diff struct {
	Split                  pager.Split
	Shard                  int // of the scan
	ScanRows, NowRows      uint64
	ScanDigest, NowDigest  uint64
	DigestKnown            bool              // the checkpoint has a digest
	Written                map[string]uint64 // rows the scan gave each sink from this range
	countDiffers, digDiffs bool
}

// OK reports whether the scan is complete and nothing differs.
func (r *Report) OK() bool { return len(r.Problems) == 0 && len(r.Diffs) == 0 }

// Run verifies one stream.
func Run(ctx context.Context, in Input) (*Report, error) {
	start := time.Now()
	rep := &Report{Stream: in.Stream, Part: in.Paging.Shard}
	n := len(in.Checkpoints)
	owner := map[int]int{} // split -> shard index
	var splits []pager.Split
	expect := map[int]pager.Position{}
	written := map[int]map[string]uint64{} // split -> sink -> rows
	fps := map[string][]int{}
	for k, cp := range in.Checkpoints {
		sh := Shard{Index: k, Count: n}
		if cp == nil {
			rep.Shards = append(rep.Shards, sh)
			rep.Problems = append(rep.Problems, fmt.Sprintf("shard %d/%d saved no checkpoint: it never ran, or ran with another checkpoint store", k, n))
			continue
		}
		sh.Found, sh.Done, sh.Run, sh.SavedAt, sh.Splits, sh.Rows = true, cp.Done(), cp.Run, cp.SavedAt, len(cp.Positions), cp.Rows()
		for k, b := range cp.Extra {
			name, ok := strings.CutPrefix(k, stream.WrittenPrefix)
			if !ok {
				continue
			}
			if sh.Written == nil {
				sh.Written = map[string]uint64{}
			}
			for split, n := range stream.DecodeWritten(b) {
				sh.Written[name] += n
				if written[split] == nil {
					written[split] = map[string]uint64{}
				}
				written[split][name] += n
			}
		}
		rep.Shards = append(rep.Shards, sh)
		rep.ScanRows += cp.Rows()
		fps[cp.Fingerprint] = append(fps[cp.Fingerprint], k)
		if !cp.Done() {
			var open []string
			for _, p := range cp.Positions {
				if !p.Done {
					open = append(open, p.SplitRange().String())
				}
			}
			if len(open) > 3 {
				open = append(open[:3], fmt.Sprintf("and %d more", len(open)-3))
			}
			rep.Problems = append(rep.Problems, fmt.Sprintf("shard %d/%d is unfinished (saved at %s): %s not read to the end; rerun it (sluice run resumes it) before verifying",
				k, n, cp.SavedAt.Format(time.RFC3339), strings.Join(open, ", ")))
		}
		if cp.Shard.Count > 0 && (cp.Shard.Index != k || cp.Shard.Count != n) && !(n == 1 && cp.Shard.Count <= 1) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the checkpoint found for shard %d/%d is of shard %s: the scan ran with another shard count than the config says", k, n, cp.Shard))
		}
		for _, p := range cp.Positions {
			if o, dup := owner[p.Split]; dup {
				rep.Problems = append(rep.Problems, fmt.Sprintf("split %d is in the checkpoints of shards %d and %d: read twice", p.Split, o, k))
				continue
			}
			owner[p.Split] = k
			expect[p.Split] = p
			splits = append(splits, p.SplitRange())
		}
	}
	if len(fps) > 1 {
		var parts []string
		for _, f := range slices.Sorted(mapsKeys(fps)) {
			parts = append(parts, fmt.Sprintf("%s (shards %v)", f, fps[f]))
		}
		rep.Problems = append(rep.Problems, "the shards' checkpoints are of different queries or split plans: "+strings.Join(parts, ", "))
	}
	sort.Slice(splits, func(i, j int) bool { return splits[i].Index < splits[j].Index })
	rep.Splits = len(splits)
	var fp string
	for f := range fps {
		fp = f
	}
	if len(splits) > 0 && len(rep.Problems) == 0 {
		if err := pager.ValidatePlan(splits); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the checkpoints' splits do not cover the token ring exactly once: %v", strings.TrimPrefix(err.Error(), "pager: ")))
		} else if q, _, _ := strings.Cut(fp, "."); in.QueryFingerprint != "" && !strings.HasPrefix(in.QueryFingerprint, q+".") {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the scan read another query than the config's stream does now (query fingerprint %s, now %s): verify re-reads with the config's query", q, strings.SplitN(in.QueryFingerprint, ".", 2)[0]))
		} else if _, ph, _ := strings.Cut(fp, "."); ph != "" && !strings.HasSuffix(pager.Fingerprint("", nil, splits), "."+ph) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the checkpoints' splits are not the plan the scan fingerprinted (%s): some split rows are of another run", fp))
		}
	}
	if len(splits) == 0 && len(rep.Problems) == 0 {
		rep.Problems = append(rep.Problems, "no checkpoint holds any split")
	}
	if len(rep.Problems) > 0 || in.NoReread {
		rep.Elapsed = time.Since(start)
		return rep, nil
	}

	plan := pager.Plan{Query: in.Query, Fingerprint: fp, Splits: splits}
	opts := in.Paging
	pg, err := pager.New(in.Source, plan, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("verify stream %q: %w", in.Stream, err)
	}
	defer pg.Close()
	total := len(pg.Splits())
	if err := pg.Start(ctx); err != nil {
		return nil, fmt.Errorf("verify stream %q: %w", in.Stream, err)
	}
	for {
		d, err := pg.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("verify stream %q: re-reading: %w", in.Stream, err)
		}
		pos := d.Position
		d.Release()
		if !pos.Done {
			continue
		}
		want := expect[pos.Split]
		rep.Reread++
		rep.RereadRows += pos.Rows
		rep.RereadOfScan += want.Rows
		known := want.Digest != 0 || want.Rows == 0
		if !known {
			rep.NoDigest++
		}
		diff := Diff{Split: d.Split, Shard: owner[pos.Split], ScanRows: want.Rows, NowRows: pos.Rows,
			ScanDigest: want.Digest, NowDigest: pos.Digest, DigestKnown: known, Written: written[pos.Split]}
		diff.countDiffers = want.Rows != pos.Rows
		diff.digDiffs = known && want.Digest != pos.Digest
		if diff.countDiffers || diff.digDiffs {
			rep.Diffs = append(rep.Diffs, diff)
		}
		if in.Progress != nil {
			in.Progress(Progress{Splits: rep.Reread, Of: total, Rows: rep.RereadRows, Elapsed: time.Since(start)})
		}
	}
	sort.Slice(rep.Diffs, func(i, j int) bool { return rep.Diffs[i].Split.Index < rep.Diffs[j].Split.Index })
	rep.RereadDone = true
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// writtenText renders rows written by sink: "; written: out 120, dlq 3".
func writtenText(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return "; rows written: " + strings.Join(parts, ", ")
}

func mapsKeys(m map[string][]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Write renders the report for people.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "stream %q: scan of %d shard(s), %d splits, %d rows read\n", r.Stream, len(r.Shards), r.Splits, r.ScanRows)
	for _, s := range r.Shards {
		switch {
		case !s.Found:
			fmt.Fprintf(w, "  shard %d/%d: no checkpoint\n", s.Index, s.Count)
		default:
			state := "complete"
			if !s.Done {
				state = "UNFINISHED"
			}
			fmt.Fprintf(w, "  shard %d/%d: %s, run %s, saved at %s, %d splits, %d rows read%s\n", s.Index, s.Count, state, s.Run, s.SavedAt.Format(time.RFC3339), s.Splits, s.Rows, writtenText(s.Written))
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  PROBLEM: %s\n", p)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "  not verified: the checkpoints are not a complete scan\n")
		return
	}
	fmt.Fprintf(w, "  the splits cover the token ring exactly once\n")
	if !r.RereadDone {
		fmt.Fprintf(w, "  ranges not re-read (-no-reread)\n")
		return
	}
	part := ""
	if r.Part.Count > 1 {
		part = fmt.Sprintf(" (verify part %s)", r.Part)
	}
	fmt.Fprintf(w, "  re-read %d splits%s in %s: %d rows now, %d when scanned; %d range(s) differ\n",
		r.Reread, part, r.Elapsed.Round(time.Millisecond), r.RereadRows, r.RereadOfScan, len(r.Diffs))
	if r.NoDigest > 0 {
		fmt.Fprintf(w, "  %d split(s) compared by count only: their checkpoint has no digest (an older sluice)\n", r.NoDigest)
	}
	for _, d := range r.Diffs {
		what := []string{}
		if d.countDiffers {
			what = append(what, fmt.Sprintf("rows %d when scanned, %d now (%+d)", d.ScanRows, d.NowRows, int64(d.NowRows)-int64(d.ScanRows)))
		}
		if d.digDiffs {
			what = append(what, fmt.Sprintf("digest %016x when scanned, %016x now", d.ScanDigest, d.NowDigest))
		}
		fmt.Fprintf(w, "  DIFFERS: %s (scan shard %d): %s%s\n", d.Split, d.Shard, strings.Join(what, "; "), writtenText(d.Written))
	}
}
