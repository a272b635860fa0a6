// Package metrics holds sluice's Prometheus metrics. We use the official
// client (github.com/prometheus/client_golang) rather than hand-written
// exposition: it is the reference implementation, handles the text and
// OpenMetrics formats, histograms and process/Go collectors, and every
// Prometheus-compatible scraper speaks it.
//
// All metrics are safe for concurrent use (the client uses atomics); owner
// goroutines update them without locks on the hot path beyond that.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of sluice metrics registered in one registry.
type Metrics struct {
	Registry *prometheus.Registry

	Pages         *prometheus.CounterVec   // stream
	EmptyPages    *prometheus.CounterVec   // stream
	RowsRead      *prometheus.CounterVec   // stream
	BytesRead     *prometheus.CounterVec   // stream
	FetchLatency  *prometheus.HistogramVec // stream
	Retries       *prometheus.CounterVec   // stream
	PluginRowsIn  *prometheus.CounterVec   // stream, plugin
	PluginRowsOut *prometheus.CounterVec   // stream, plugin, output
	PluginLatency *prometheus.HistogramVec // stream, plugin
	RowsWritten   *prometheus.CounterVec   // stream, sink
	RowsRejected  *prometheus.CounterVec   // stream: rows plugins sent to the dead-letter output
	Errors        *prometheus.CounterVec   // stream, kind
	Swaps         *prometheus.CounterVec   // stream, plugin, result
	ActiveStreams prometheus.Gauge
	CheckpointAge *prometheus.GaugeVec // stream
	Checkpoints   *prometheus.CounterVec
	Follow        FollowMetrics // follow-mode streams only (follow.go)
}

// New registers every metric (plus the Go and process collectors) in a
// fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	lat := prometheus.ExponentialBuckets(0.0005, 2, 16) // 0.5ms .. ~16s
	m := &Metrics{
		Registry:      r,
		Pages:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_pages_total", Help: "Pages fetched from Cassandra, empty pages included."}, []string{"stream"}),
		EmptyPages:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_empty_pages_total", Help: "Pages fetched with no rows (and more to come)."}, []string{"stream"}),
		RowsRead:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_rows_read_total", Help: "Rows read from Cassandra."}, []string{"stream"}),
		BytesRead:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_bytes_read_total", Help: "Bytes of cell data read from Cassandra."}, []string{"stream"}),
		FetchLatency:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_page_fetch_seconds", Help: "Latency of successful page fetches.", Buckets: lat}, []string{"stream"}),
		Retries:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_fetch_retries_total", Help: "Page fetches retried after a retryable error."}, []string{"stream"}),
		PluginRowsIn:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_plugin_rows_in_total", Help: "Rows handed to the plugin chain."}, []string{"stream", "plugin"}),
		PluginRowsOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_plugin_rows_out_total", Help: "Rows the plugin chain emitted, by output (\"\" = default)."}, []string{"stream", "plugin", "output"}),
		PluginLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_plugin_page_seconds", Help: "Time the plugin chain took for one page.", Buckets: lat}, []string{"stream", "plugin"}),
		RowsWritten:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_sink_rows_total", Help: "Rows written to sinks."}, []string{"stream", "sink"}),
		RowsRejected:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_rows_rejected_total", Help: "Rows plugins rejected to the dead-letter output (sluice.rejected), with a reason."}, []string{"stream"}),
		Errors:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_errors_total", Help: "Errors by kind (fetch, plugin, sink, checkpoint, fence, swap)."}, []string{"stream", "kind"}),
		Swaps:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_plugin_swaps_total", Help: "Plugin hot swaps by result (swapped, refused, unchanged)."}, []string{"stream", "plugin", "result"}),
		ActiveStreams: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_active_streams", Help: "Streams currently running."}),
		CheckpointAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_checkpoint_age_seconds", Help: "Seconds since the stream's last saved checkpoint."}, []string{"stream"}),
		Checkpoints:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_checkpoints_total", Help: "Checkpoints saved."}, []string{"stream"}),
	}
	r.MustRegister(m.Pages, m.EmptyPages, m.RowsRead, m.BytesRead, m.FetchLatency, m.Retries, m.PluginRowsIn, m.PluginRowsOut,
		m.PluginLatency, m.RowsWritten, m.RowsRejected, m.Errors, m.Swaps, m.ActiveStreams, m.CheckpointAge, m.Checkpoints)
	m.Follow = newFollowMetrics(r)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// PagerObserver adapts the metrics to pager.Observer for one stream.
type PagerObserver struct {
	pages, empty, rows, bytes, retries prometheus.Counter
	lat                                prometheus.Observer
}

// Pager returns the pager observer of stream.
func (m *Metrics) Pager(stream string) *PagerObserver {
	return &PagerObserver{
		pages: m.Pages.WithLabelValues(stream), empty: m.EmptyPages.WithLabelValues(stream),
		rows: m.RowsRead.WithLabelValues(stream), bytes: m.BytesRead.WithLabelValues(stream),
		retries: m.Retries.WithLabelValues(stream), lat: m.FetchLatency.WithLabelValues(stream),
	}
}

// PageFetched implements pager.Observer.
func (o *PagerObserver) PageFetched(_ string, _ int, rows, bytes int, latency time.Duration) {
	o.pages.Inc()
	if rows == 0 {
		o.empty.Inc()
	}
	o.rows.Add(float64(rows))
	o.bytes.Add(float64(bytes))
	o.lat.Observe(latency.Seconds())
}

// FetchRetry implements pager.Observer.
func (o *PagerObserver) FetchRetry(string, int, int, time.Duration, error) { o.retries.Inc() }

// SplitDone implements pager.Observer.
func (o *PagerObserver) SplitDone(string, int, uint64, uint64) {}

// Itoa is strconv.Itoa, for label values.
func Itoa(i int) string { return strconv.Itoa(i) }
