package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/stream"
)

func TestFollowProgressShowsLag(t *testing.T) {
	st := stream.Stats{Rows: 10, Pages: 2, Started: time.Now().Add(-time.Second), Follow: true, OpenBuckets: 3, Watermark: time.Now().Add(-1500 * time.Millisecond)}
	line := statsLine(st)
	if !strings.Contains(line, "lag 1.5s") || !strings.Contains(line, "open buckets 3") || strings.Contains(line, "ring") {
		t.Errorf("follow progress %q: want the lag and open buckets, no ring share", line)
	}
	st.Watermark = time.Time{}
	if line := statsLine(st); !strings.Contains(line, "first poll") {
		t.Errorf("before the first poll: %q", line)
	}
}
