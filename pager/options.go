package pager

import (
	"errors"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Defaults of Options, applied by Options.WithDefaults to zero fields.
// They are also sluice's config defaults (internal/config/defaults.go
// takes them from here), so a stream configured with no values and a
// pager built with zero Options page alike.
const (
	DefaultPageSize    = 5000
	DefaultPrefetch    = 1
	DefaultSplits      = 1
	DefaultConcurrency = 1
	DefaultPageTimeout = 30 * time.Second
	DefaultRetries     = 5
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
)

// DefaultConsistency is the read consistency when Options.Consistency is
// left at its zero value (gocql.Any, which is not valid for reads).
const DefaultConsistency = gocql.LocalOne

// Options configure paging. The zero value of a field means its default
// (see WithDefaults); Validate reports nonsensical values.
type Options struct {
	// Stream names the stream in errors, metrics and checkpoints.
	Stream string
	// PageSize is the number of rows per page asked of Cassandra
	// (default 5000).
	PageSize int
	// Consistency of the page reads (default LOCAL_QUORUM).
	Consistency gocql.Consistency
	// Prefetch is how many pages of a split are fetched ahead of the page
	// the consumer processes (default 1): per split at most Prefetch built
	// pages the consumer has not taken yet exist at any time, plus the
	// response of one request sent ahead (see Pager).
	Prefetch int
	// Splits is the number of token-range splits wanted for a table scan
	// (default 1: the whole table in one split). The plan follows the vnode
	// ranges, see SplitRing. CQL mode always has one split.
	Splits int
	// Concurrency bounds the splits paged at the same time (default 4,
	// never more than the splits of the shard).
	Concurrency int
	// RowsPerSecond and PagesPerSecond limit the rate of the whole stream
	// (all splits together); 0 = unlimited. Both may be set.
	RowsPerSecond  float64
	PagesPerSecond float64
	// PageTimeout bounds one page fetch attempt (default 60s). A fetch
	// that runs out of it is retried.
	PageTimeout time.Duration
	// Retries is the number of retries of a failed page fetch (default 5;
	// -1 = none). Only retryable errors are retried (IsRetryable).
	Retries int
	// BackoffBase and BackoffMax shape the wait before retry n:
	// min(BackoffMax, BackoffBase×2^(n-1)), of which a random half is
	// jitter (defaults 100ms and 10s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Shard is this process's share of the plan (default 0/1: all of it).
	Shard Shard
}

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	if o.PageSize == 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Consistency == gocql.Any {
		o.Consistency = DefaultConsistency
	}
	if o.Prefetch == 0 {
		o.Prefetch = DefaultPrefetch
	}
	if o.Splits == 0 {
		o.Splits = DefaultSplits
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PageTimeout == 0 {
		o.PageTimeout = DefaultPageTimeout
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.Shard.Count == 0 {
		o.Shard.Count = 1
	}
	return o
}

// Validate reports the first invalid field of o (after WithDefaults).
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("pager: options: "+format, args...)) }
	if o.PageSize < 1 {
		bad("page size %d: must be >= 1", o.PageSize)
	}
	if o.Prefetch < 1 {
		bad("prefetch %d: must be >= 1", o.Prefetch)
	}
	if o.Splits < 1 {
		bad("splits %d: must be >= 1", o.Splits)
	}
	if o.Concurrency < 1 {
		bad("concurrency %d: must be >= 1", o.Concurrency)
	}
	if o.RowsPerSecond < 0 || o.PagesPerSecond < 0 {
		bad("rate limit must be >= 0 (rows/s %v, pages/s %v)", o.RowsPerSecond, o.PagesPerSecond)
	}
	if o.PageTimeout < 0 {
		bad("page timeout %v: must be > 0", o.PageTimeout)
	}
	if o.Retries < 0 {
		bad("retries %d: must be >= 0", o.Retries)
	}
	if o.BackoffBase < 0 || o.BackoffMax < o.BackoffBase {
		bad("backoff base %v, max %v: need 0 <= base <= max", o.BackoffBase, o.BackoffMax)
	}
	if err := o.Shard.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Observer receives paging metrics. Its methods are called from the split
// owner goroutines, concurrently: implementations must be safe for
// concurrent use and fast (no blocking I/O). The operations layer adapts it
// to Prometheus; a nil Observer is allowed.
type Observer interface {
	// PageFetched is called once per page delivered to the consumer queue:
	// rows and bytes (of the rows area) of the page, 0 rows for an empty
	// page, and the latency of the successful fetch attempt: from sending
	// its request to the response's arrival, plus the decode of its rows
	// (not the time the response waited, sent ahead, for its turn).
	PageFetched(stream string, split int, rows, bytes int, latency time.Duration)
	// FetchRetry is called before retry number attempt (1-based) of a page
	// after a retryable error err, with the wait before it.
	FetchRetry(stream string, split int, attempt int, wait time.Duration, err error)
	// SplitDone is called when the last page of a split was delivered.
	SplitDone(stream string, split int, pages, rows uint64)
}

type nopObserver struct{}

func (nopObserver) PageFetched(string, int, int, int, time.Duration)  {}
func (nopObserver) FetchRetry(string, int, int, time.Duration, error) {}
func (nopObserver) SplitDone(string, int, uint64, uint64)             {}
