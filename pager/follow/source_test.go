package follow_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/follow"
	"github.com/sluicehq/sluice/pager/follow/followtest"
)

var t0 = time.Date(2026, 12, 4, 10, 30, 0, 0, time.UTC)

// run pages a follow source with the real pager until the clock passes
// until, as the stream does with an exactly-once sink: every page's rows
// go to the sink and its position is committed; a checkpoint (positions
// and the sink's length) is saved every few pages. With crashEvery > 0 it
// "crashes" every so often: the sink is truncated to the checkpoint and
// a new pager resumes from it.
func run(t *testing.T, src *follow.Source, clock *followtest.Clock, until time.Time, crashEvery int, rng *rand.Rand) (map[int32]int, []follow.Mark) {
	t.Helper()
	plan, err := src.Plan("events")
	if err != nil {
		t.Fatal(err)
	}
	type pageRows struct {
		ids  []int32
		mark follow.Mark
	}
	var sink []pageRows
	var cp *pager.Checkpoint
	cpLen := 0
	crashes := 0
	for {
		p, err := pager.New(src, plan, pager.Options{Stream: "follow", PageSize: 50, Retries: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Resume(cp); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		prog := p.Progress()
		crashAt := -1
		if crashEvery > 0 {
			crashAt = 1 + rng.IntN(crashEvery)
		}
		done := false
		for n := 0; n != crashAt; n++ {
			d, err := p.Next(context.Background())
			if errors.Is(err, io.EOF) {
				t.Fatal("a follow stream ended")
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := follow.MarkOf(d.Position.PageState)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int32
			for _, row := range d.Page.Rows() {
				c, _ := row.Cell(3)
				ids = append(ids, int32(binary.BigEndian.Uint32(c)))
			}
			sink = append(sink, pageRows{ids, m})
			if err := prog.Commit(d.Position); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(4) == 0 {
				cp, cpLen = prog.Checkpoint(nil), len(sink)
			}
			if clock.Now().After(until) {
				done = true
				break
			}
		}
		p.Close()
		if done {
			break
		}
		crashes++
		sink = sink[:cpLen]
	}
	t.Logf("%d crashes", crashes)
	delivered := map[int32]int{}
	var marks []follow.Mark
	for _, pr := range sink {
		for _, id := range pr.ids {
			delivered[id]++
		}
		marks = append(marks, pr.mark)
	}
	return delivered, marks
}

func TestFollowDeliversEachRowOnceAcrossCrashes(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		crashEvery := 0
		if seed > 1 {
			crashEvery = 400
		}
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			spec := followtest.Spec(t0, 10*time.Second)
			evs := followtest.Events(rng, 2000, t0.Add(-30*time.Minute), 3*time.Hour, spec.Lateness, 5)
			clock := followtest.NewClock(t0)
			src, err := follow.New(spec, followtest.NewTable(clock, evs), clock)
			if err != nil {
				t.Fatal(err)
			}
			until := t0.Add(150 * time.Minute).Add(2 * spec.Lateness)
			delivered, marks := run(t, src, clock, until, crashEvery, rng)
			check(t, spec, evs, delivered, until)
			flushes := 0
			for _, m := range marks {
				if m.Flush {
					flushes++
				}
			}
			// Buckets 10h..12h close (13h is still open at the end).
			if flushes < 2 {
				t.Errorf("%d flushes, want one per closed bucket hour (>= 2)", flushes)
			}
		})
	}
}

func check(t *testing.T, spec follow.Spec, evs []followtest.Event, delivered map[int32]int, until time.Time) {
	t.Helper()
	missing, late := 0, 0
	for _, e := range evs {
		n := delivered[e.ID]
		if n > 1 {
			t.Errorf("event %d (ts %s) delivered %d times", e.ID, time.UnixMilli(e.TS).UTC(), n)
		}
		inScope := e.TS > spec.Start.UnixMilli() && e.TS <= until.Add(-spec.Lateness-spec.Interval).UnixMilli()
		if e.TS <= spec.Start.UnixMilli() && n > 0 {
			t.Errorf("event %d before start delivered", e.ID)
		}
		if inScope && e.Visible-e.TS <= spec.Lateness.Milliseconds() && n != 1 {
			missing++
			if missing < 5 {
				t.Errorf("event %d (ts %s, %v late) delivered %d times, want once", e.ID, time.UnixMilli(e.TS).UTC(), time.Duration(e.Visible-e.TS)*time.Millisecond, n)
			}
		}
		if e.Visible-e.TS > spec.Lateness.Milliseconds() && n == 0 {
			late++
		}
	}
	if missing > 0 {
		t.Errorf("%d events within the window not delivered once", missing)
	}
	t.Logf("%d events, %d delivered, %d later than the window skipped", len(evs), len(delivered), late)
}
