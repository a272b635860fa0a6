package follow_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/follow"
	"github.com/sluicehq/sluice/pager/follow/followtest"
)

// BenchmarkRequestWindow is the cost of one follow request at a steady
// write rate: the cursor holds the keys of a full lateness window (rate ×
// lateness) and the request delivers one page of new rows. Run with
// -benchmem; rows/s = page rows / (ns/op).
func BenchmarkRequestWindow(b *testing.B) {
	for _, window := range []int{1_000, 10_000, 50_000} {
		b.Run("window="+itoa(window), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			lateness := 5 * time.Second
			// window events in the 5 s before now, plus 1,000 new ones.
			now := start.Add(time.Minute)
			var evs []followtest.Event
			for i := 0; i < window+1000; i++ {
				e := now.Add(-lateness + time.Duration(rng.Int64N(int64(lateness)))).Truncate(time.Millisecond)
				evs = append(evs, followtest.Event{Bucket: e.Format("2006-01-02-15"), Shard: i % 2, TS: e.UnixMilli(), ID: int32(i), Visible: e.UnixMilli()})
			}
			clock := followtest.NewClock(now)
			spec := followtest.Spec(start, lateness)
			src, err := follow.New(spec, followtest.NewTable(clock, evs[:window]), clock)
			if err != nil {
				b.Fatal(err)
			}
			// A cursor after one poll over the window: every key seen.
			state := drain(b, src, nil)
			full := followtest.NewTable(clock, evs)
			src2, _ := follow.New(spec, full, clock)
			b.ReportMetric(float64(len(state)), "state-bytes")
			b.ResetTimer()
			for range b.N {
				r, err := src2.Request(context.Background(), pager.Request{Split: pager.Split{Whole: true}, State: state, PageSize: 5000})
				if err != nil {
					b.Fatal(err)
				}
				var pb abi.PageBuilder
				if err := r.Decode(context.Background(), &pb); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// drain runs requests until a poll ends and returns the cursor.
func drain(b *testing.B, src *follow.Source, state []byte) []byte {
	for {
		r, err := src.Request(context.Background(), pager.Request{Split: pager.Split{Whole: true}, State: state, PageSize: 100_000})
		if err != nil {
			b.Fatal(err)
		}
		state = r.Next()
		r.Close()
		if m, _ := follow.MarkOf(state); m.PollDone {
			return state
		}
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
