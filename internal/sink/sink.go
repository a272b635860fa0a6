// Package sink writes the pages a stream produces: to standard output
// (JSON lines or CSV), to a file (JSON lines or CSV, exactly once across
// restarts) or into a Cassandra table (raw cell bytes, no decoding).
//
// A Sink is owned by one goroutine, the stream's committer: it is not safe
// for concurrent use. The committer's loop is
//
//	s.Restore(offsetFromCheckpoint) // nil on a fresh run
//	for batch := range batches {
//		s.Write(ctx, batch.Page, batch.Bitmap)
//		if checkpointDue {
//			s.Flush(ctx)               // durable
//			save(checkpoint{..., Sinks: {name: s.Position()}})
//		}
//	}
//	s.Flush(ctx); save(...); s.Close()
//
// Exactly-once output across restarts comes from Position and Restore: a
// file sink's Position is its size after the last Write, and Restore
// truncates the file back to the size recorded with the checkpoint, so the
// rows that are read again after a restart are written again rather than
// duplicated. Cassandra writes are idempotent upserts, so replaying them is
// harmless. Standard output cannot be rewound: it is at-least-once.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/internal/config"
)

// Sink receives the rows of one or more outputs of a stream.
//
// A Sink is owned by a single goroutine (the stream's committer) and is not
// safe for concurrent use. After an error from Write or Flush the sink is
// broken: later calls return the same error (the stream stops and a restart
// resumes from the last checkpoint).
type Sink interface {
	// Write writes the rows of p whose bit is set in sel (LSB-first, as in
	// ABI SELECT sections), or every row when sel is nil. Write only reads
	// p during the call and keeps no reference to it. A failed Write has
	// written none of the page's rows to the sink's buffer.
	Write(ctx context.Context, p *abi.Page, sel []byte) error

	// Flush makes everything written so far durable: a file is written and
	// fsynced, every in-flight Cassandra INSERT has been acknowledged,
	// standard output has been written to. Save a checkpoint only after
	// Flush returns nil.
	Flush(ctx context.Context) error

	// Position returns the sink's opaque position after the last Write, to
	// be stored in a checkpoint after a successful Flush and handed to
	// Restore after a restart. It is nil for sinks that cannot be rewound
	// (stdout, cassandra).
	Position() Offset

	// Restore rewinds the sink to an Offset returned by Position, possibly
	// by an earlier process, and must be called before the first Write. A
	// nil Offset means a fresh run (no checkpoint): a file sink truncates
	// its file. It fails when the offset does not belong to a sink of this
	// kind and format, or cannot be honoured (a file shorter than the
	// offset).
	Restore(off Offset) error

	// Close releases the sink's resources. It does not flush: what was
	// written since the last Flush may be lost (a restart writes it again).
	// Close is idempotent (a second Close returns nil); other calls after
	// Close return ErrClosed.
	Close() error
}

// Transactional is a sink whose writes become visible only when
// committed, in one atomic step together with the checkpoint that covers
// them: the kafka sink (one Kafka transaction holds the records written
// since the last checkpoint and that checkpoint). It closes the window a
// plain sink leaves between "output durable" and "checkpoint saved": the
// engine commits the sink after every other sink's Flush and before the
// checkpoint store's Save, and a rerun that finds the sink's last commit
// newer than the store's checkpoint resumes from the sink's (see
// internal/stream, committer.save and Stream.reconcile).
type Transactional interface {
	Sink
	// Recover fences every earlier writer of the sink's target (a killed
	// run's open transaction is aborted; one whose commit had begun
	// completes) and returns the checkpoint bytes of the sink's last
	// Commit, nil when there is none. Run calls it once, before Restore.
	// sluice check never calls it: fencing would stop a running stream.
	Recover(ctx context.Context) ([]byte, error)
	// Commit makes everything written since the previous Commit visible
	// together with checkpoint, atomically; Flush has returned nil first.
	// After an error nothing of the transaction is visible, and the sink
	// is broken (the stream stops; a rerun resumes from the last checkpoint
	// both the sink and the store agree on).
	Commit(ctx context.Context, checkpoint []byte) error
}

// OutputWriter is a sink that treats the outputs it receives differently
// (the kafka sink's per-output topics). The committer calls WriteOutput
// instead of Write when a sink implements it, with the output's name.
type OutputWriter interface {
	WriteOutput(ctx context.Context, output string, p *abi.Page, sel []byte) error
}

// Offset is a sink's opaque position, stored in checkpoints. Its bytes are
// stable across versions of sluice that share the first byte's meaning.
type Offset []byte

// ErrClosed is returned by calls on a closed sink. It is a programming
// error in the caller: a stream must not use a sink after closing it.
var ErrClosed = errors.New("sink: closed")

// ErrBadOffset is wrapped by Restore errors about an Offset that does not
// fit the sink (another kind or format of sink, or a corrupt checkpoint).
// The checkpoint does not belong to this configuration: start the stream
// afresh (delete its checkpoint) or restore the configuration.
var ErrBadOffset = errors.New("offset does not fit this sink")

// Format is a row format of stdout and file sinks.
type Format string

// Row formats.
const (
	JSONL Format = "jsonl" // one JSON object per line, see abi.AppendJSON
	CSV   Format = "csv"   // RFC 4180 with a header row, see docs/sinks.md
)

func (f Format) valid() bool { return f == JSONL || f == CSV }

// Env holds what sinks need from the rest of the process.
type Env struct {
	// Stream is the name of the stream, used in error messages.
	Stream string
	// Session is the Cassandra session of cassandra sinks.
	Session *gocql.Session
	// Stdout receives stdout sinks; nil means the process's standard
	// output, shared by every stream with whole pages written atomically
	// so lines of different streams never interleave.
	Stdout io.Writer
	// PartitionKey is the source table's partition key, the default key
	// of kafka records.
	PartitionKey []string
	// KafkaPassword is the SASL password of a kafka sink (from the
	// environment variable its config names).
	KafkaPassword string
}

// New creates the sink a validated config.Sink describes.
func New(ctx context.Context, c config.Sink, env Env) (Sink, error) {
	name := c.Name
	if env.Stream != "" {
		name = env.Stream + "/" + c.Name
	}
	switch c.Type {
	case "stdout":
		w := env.Stdout
		if w == nil {
			w = stdout
		}
		return NewWriter(name, w, Format(c.Format))
	case "file":
		return OpenFile(name, c.Path, Format(c.Format))
	case "cassandra":
		if env.Session == nil {
			return nil, fmt.Errorf("sink %s: a cassandra sink needs a session", name)
		}
		return NewCassandra(ctx, name, env.Session, c.Keyspace, c.Table, CassandraOptions{
			Concurrency: c.Concurrency,
			Consistency: c.Consistency.Gocql(),
		})
	case "kafka":
		return newKafkaFromConfig(ctx, name, c, env)
	case "parquet":
		return OpenParquet(name, c.Path, ParquetOptions{FileSize: int64(c.FileSize), RowGroupSize: int64(c.RowGroupSize),
			Compression: c.Compression, DecimalScale: int32(c.DecimalScale)})
	}
	return nil, fmt.Errorf("sink %s: unknown sink type %q", name, c.Type)
}

// stdout serialises writes of every stdout sink of the process.
var stdout io.Writer = &lockedWriter{w: os.Stdout}

type lockedWriter struct {
	mu sync.Mutex // serialises Write
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// selected reports whether row i is selected by sel (nil = every row).
func selected(sel []byte, i int) bool {
	return sel == nil || abi.BitmapGet(sel, i)
}
