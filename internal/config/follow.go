package config

import (
	"fmt"
	"strings"
	"time"
)

// Follow is the [stream.source.follow] table (mode = "follow").
type Follow struct {
	TimeColumn    string        `toml:"time_column" doc:"The clustering column that orders the events: the table's first clustering column, a timestamp or a timeuuid. Required in follow mode."`
	BucketColumns []string      `toml:"bucket_columns" doc:"The partition key columns derived from the event time (with shard_column, they must be the whole partition key). Required in follow mode."`
	BucketFormats []string      `toml:"bucket_formats" doc:"How each bucket column is derived from the bucket's start (UTC), one per bucket column: a date pattern of yyyy, MM, dd, HH, mm, ss and literals ('quoted' letters), e.g. \"yyyy-MM-dd-HH\" (a text column, or an int/bigint column for an all-digit pattern such as \"yyyyMMddHH\"); \"epoch\": floor(unix seconds / bucket_width) (int or bigint); \"timestamp\": the bucket's start, aligned to bucket_width (timestamp); \"date\": the bucket's day (date)."`
	BucketWidth   time.Duration `toml:"bucket_width" doc:"The time one bucket covers, for the epoch and timestamp formats (a whole number of seconds); 0 when no column uses them." min:"0s"`
	ShardColumn   string        `toml:"shard_column" doc:"Partition key column holding a shard number 0..shards-1 within each bucket; \"\" = none."`
	Shards        int           `toml:"shards" doc:"Number of shards per bucket (with shard_column)." min:"0" max:"65536"`
	Start         string        `toml:"start" doc:"Where a stream without a checkpoint starts: rows with an event time after it are delivered. \"now\", an RFC 3339 time (\"2026-12-04T00:00:00Z\"), or a negative duration before now (\"-2h\"). A checkpoint, when there is one, wins."`
	Lateness      time.Duration `toml:"lateness" doc:"How long after its event time a row may become readable and still be delivered (exactly once): every poll re-reads this much before the previous poll's end, and deduplicates by primary key. Rows later than that are skipped (docs/follow.md)." min:"0s"`
	Interval      time.Duration `toml:"interval" doc:"Time between the starts of two polls, once caught up (at most half of source.page_timeout: a poll waits inside one page request)." min:"10ms"`
	MaxBuckets    int           `toml:"max_buckets" doc:"Most buckets one poll reads; catching up reads several polls back to back." min:"1" max:"100000"`
	Flush         string        `toml:"flush" doc:"bucket: flush the plugins (sluice_flush) whenever buckets close (no poll reads them again), so an aggregating plugin emits per-bucket results; never: plugins are never flushed." enum:"bucket,never"`
}

// ParseStart resolves a follow start ("now", RFC 3339, or a negative
// duration) against now.
func ParseStart(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid start %q: %v", s, err)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid start %q: want \"now\", an RFC 3339 time such as \"2026-12-04T00:00:00Z\", or a negative duration such as \"-2h\"", s)
	}
	return t, nil
}

// validateFollow checks a follow-mode source (l is the source's loc).
func (d *decoder) validateFollow(s *Stream, l loc) {
	src := &s.Source
	f := &src.Follow
	fl := l.key("follow")
	if !d.isSet(fl) {
		d.addf(l.key("mode"), "mode = \"follow\" needs a [stream.source.follow] table (time_column, bucket_columns, bucket_formats)")
		return
	}
	if src.Table == "" {
		d.addf(l.key("mode"), "follow mode reads a table: set table, not cql")
	}
	for _, k := range []string{"where", "allow_filtering", "splits"} {
		if d.isSet(l.key(k)) {
			d.addf(l.key(k), "is not used in follow mode (the stream reads bucket by bucket, in one split)")
		}
	}
	if d.isSet(l.key("concurrency")) && src.Concurrency != 1 {
		d.addf(l.key("concurrency"), "follow mode reads in one split: concurrency must be 1")
	}
	src.Splits, src.Concurrency = 1, 1
	if f.TimeColumn == "" {
		d.addf(fl.key("time_column"), "is required in follow mode")
	}
	if len(f.BucketColumns) == 0 {
		d.addf(fl.key("bucket_columns"), "is required in follow mode: the partition key columns derived from time")
	}
	if len(f.BucketFormats) != len(f.BucketColumns) {
		d.addf(fl.key("bucket_formats"), "has %d element(s), bucket_columns has %d: give one format per bucket column", len(f.BucketFormats), len(f.BucketColumns))
	}
	for i, fm := range f.BucketFormats {
		if (fm == "epoch" || fm == "timestamp") && f.BucketWidth <= 0 {
			d.addf(fl.key("bucket_width"), "is required by bucket format %q (bucket_formats[%d])", fm, i)
		}
	}
	if f.BucketWidth%time.Second != 0 {
		d.addf(fl.key("bucket_width"), "must be a whole number of seconds, got %s", formatDuration(f.BucketWidth))
	}
	if f.ShardColumn != "" && f.Shards < 1 {
		d.addf(fl.key("shards"), "must be at least 1 with shard_column %q", f.ShardColumn)
	}
	if f.ShardColumn == "" && d.isSet(fl.key("shards")) {
		d.addf(fl.key("shards"), "has no effect without shard_column")
	}
	if _, err := ParseStart(f.Start, time.Now()); err != nil {
		d.addf(fl.key("start"), "%v", err)
	}
	if f.Interval*2 > src.PageTimeout && !d.bad[fl.key("interval").raw] {
		d.addf(fl.key("interval"), "%s is more than half of source.page_timeout (%s): a poll waits for its interval inside one page request", formatDuration(f.Interval), formatDuration(src.PageTimeout))
	}
}
