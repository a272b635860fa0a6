package metrics

import "github.com/prometheus/client_golang/prometheus"

// FollowMetrics are the metrics of follow-mode streams (docs/follow.md),
// labelled by stream. The committer updates them as it commits pages.
type FollowMetrics struct {
	Lag           *prometheus.GaugeVec     // now minus the committed watermark, seconds
	Watermark     *prometheus.GaugeVec     // the committed watermark, Unix seconds
	OpenBuckets   *prometheus.GaugeVec     // buckets the current poll reads
	ClosedBuckets *prometheus.CounterVec   // buckets closed (no poll reads them again)
	PollRows      *prometheus.HistogramVec // rows delivered per completed poll
	Polls         *prometheus.CounterVec   // polls completed
}

func newFollowMetrics(r *prometheus.Registry) FollowMetrics {
	f := FollowMetrics{
		Lag:           prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_follow_lag_seconds", Help: "Follow mode: now minus the committed watermark (every row with an event time up to the watermark, readable within the lateness, is delivered)."}, []string{"stream"}),
		Watermark:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_follow_watermark_seconds", Help: "Follow mode: the committed watermark, Unix seconds."}, []string{"stream"}),
		OpenBuckets:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_follow_open_buckets", Help: "Follow mode: buckets the current poll reads."}, []string{"stream"}),
		ClosedBuckets: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_follow_closed_buckets_total", Help: "Follow mode: buckets closed (older than the lateness window: no poll reads them again)."}, []string{"stream"}),
		PollRows:      prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_follow_poll_rows", Help: "Follow mode: rows delivered by one completed poll.", Buckets: prometheus.ExponentialBuckets(1, 4, 12)}, []string{"stream"}),
		Polls:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_follow_polls_total", Help: "Follow mode: polls completed."}, []string{"stream"}),
	}
	r.MustRegister(f.Lag, f.Watermark, f.OpenBuckets, f.ClosedBuckets, f.PollRows, f.Polls)
	return f
}
