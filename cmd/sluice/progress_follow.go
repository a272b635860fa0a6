package main

import (
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/stream"
)

// A follow stream has no end, so its progress is its lag (now minus the
// committed watermark, docs/follow.md) instead of a share of the ring and
// an ETA. Its bar stays empty.

func followLine(st stream.Stats, rate float64) string {
	return fmt.Sprintf("%d rows  %.0f rows/s  %d pages  lag %s  open buckets %d", st.Rows, rate, st.Pages, lagText(st), st.OpenBuckets)
}

func lagText(st stream.Stats) string {
	if st.Watermark.IsZero() {
		return "? (first poll running)"
	}
	return time.Since(st.Watermark).Round(100 * time.Millisecond).String()
}
