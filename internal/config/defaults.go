package config

import (
	"time"

	"github.com/sluicehq/sluice/pager"
)

// defaults is the one place where default values live (the paging ones
// are the pager's own, so the engine and the config cannot disagree). A key missing from
// the file keeps the value it has here; the elements of arrays of tables
// ([[stream]], [[stream.plugin]], [[stream.sink]]) start from Stream, Plugin
// and Sink. docs/config.md is generated from this variable and the struct
// tags of config.go; TestDocsInStep fails when they drift apart.
//
// Empty values documented as "inherit" (a source's consistency, a plugin's
// memory_limit, ...) are resolved by Parse.
var defaults = struct {
	Config Config
	Stream Stream
	Plugin Plugin
	Sink   Sink
	// DefaultSink is the sink of a stream that has no [[stream.sink]].
	DefaultSink Sink
}{
	Config: Config{
		Cassandra: Cassandra{
			Hosts:           []string{"127.0.0.1:9042"},
			HostLookup:      true,
			Consistency:     Consistency(pager.DefaultConsistency.String()),
			ProtocolVersion: 0,
			ConnectTimeout:  10 * time.Second,
			Timeout:         30 * time.Second,
		},
		Runtime: Runtime{
			CacheDir:             ".cache/wazero",
			MemoryLimit:          64 * MiB,
			PageTimeout:          10 * time.Second,
			MaxResultSize:        64 * MiB,
			MaxConcurrentStreams: 4,
			LogFormat:            "text",
			LogLevel:             "info",
			Progress:             "auto",
		},
		Admin: Admin{},
		Checkpoint: Checkpoint{
			Store:      "file",
			Dir:        ".sluice/checkpoints",
			Keyspace:   "sluice",
			Table:      "sluice_checkpoints",
			Interval:   5 * time.Second,
			EveryPages: 0,
			LeaseTTL:   30 * time.Second,
			LeaseWait:  time.Minute,
		},
	},
	Stream: Stream{
		OnError: "stop_stream",
		Source: Source{
			Mode: "scan",
			Follow: Follow{
				Start:      "now",
				Lateness:   10 * time.Second,
				Interval:   time.Second,
				MaxBuckets: 24,
				Flush:      "bucket",
			},
			PageSize:        pager.DefaultPageSize,
			Prefetch:        pager.DefaultPrefetch,
			Splits:          0, // auto, resolved by Parse from concurrency
			Concurrency:     pager.DefaultConcurrency,
			PageTimeout:     pager.DefaultPageTimeout,
			Retries:         pager.DefaultRetries,
			RetryBackoff:    pager.DefaultBackoffBase,
			RetryBackoffMax: pager.DefaultBackoffMax,
		},
	},
	Plugin: Plugin{},
	Sink: Sink{
		Type:               "stdout",
		Outputs:            []string{""},
		Format:             "jsonl",
		Concurrency:        8,
		Value:              "json",
		Compression:        "",
		FileSize:           128 * MiB,
		RowGroupSize:       32 * MiB,
		DecimalScale:       9,
		Acks:               "all",
		ExactlyOnce:        true,
		CheckpointTopic:    "sluice_checkpoints",
		TransactionTimeout: time.Minute,
		MaxBufferedBytes:   64 * MiB,
	},
	DefaultSink: Sink{
		Name:        "stdout",
		Type:        "stdout",
		Outputs:     []string{""},
		Format:      "jsonl",
		Concurrency: 8,
	},
}
