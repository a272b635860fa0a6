package sink

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/sluicehq/sluice/abi"
)

// ParquetOptions configures a parquet sink.
type ParquetOptions struct {
	// FileSize rolls a file once it holds about this many bytes (a file is
	// also closed at every checkpoint: see Flush).
	FileSize int64
	// RowGroupSize ends a row group once about this many bytes of cells
	// are buffered (the row group is held in memory until then).
	RowGroupSize int64
	// Compression: none, snappy, gzip, lz4 (LZ4_RAW), zstd.
	Compression string
	// DecimalScale is the scale of every decimal column (DECIMAL(38, s)).
	DecimalScale int32
}

// A parquet sink writes the rows into Parquet files in one directory,
// which it owns: part-000000.parquet, part-000001.parquet, ...
//
// Exactly once, as Flink's FileSink does for bulk formats: a file is
// written under a hidden in-progress name; Flush (at every checkpoint)
// closes it — footer, fsync — and renames it to a hidden pending name;
// the committer calls Publish once the checkpoint that covers it is saved,
// which renames every pending file to its final name. Position is the
// number of the next file: a checkpoint says "files below this number are
// complete". Restore publishes the pending files below the checkpoint's
// number (the process died between the save and the rename) and deletes
// every other pending or in-progress file (their rows are read again), so
// a reader that lists part-*.parquet sees only checkpointed rows, each
// once. A fresh run (Restore(nil)) deletes every file of the sink.
//
// Owned by the committer goroutine.
type parquetSink struct {
	name, dir string
	o         ParquetOptions
	codec     compress.Codec
	lock      *os.File

	seq     uint64 // number of the open file, or of the next one
	f       *os.File
	cw      *countWriter
	w       *parquet.Writer
	ps      *pschema
	schema  *abi.Schema
	sh      shredder
	rows    []parquet.Row
	rgBytes int64
	pending []uint64 // closed, not yet published

	restored bool
	err      error
	closed   bool
}

var _ Publisher = (*parquetSink)(nil)

// Publisher is a sink that makes output visible only once a checkpoint
// covering it is saved (the parquet sink's renames). The committer calls
// Publish after every successful checkpoint save.
type Publisher interface {
	Publish(ctx context.Context) error
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// OpenParquet opens a parquet sink writing into dir (created if needed).
func OpenParquet(name, dir string, o ParquetOptions) (Sink, error) {
	if dir == "" {
		return nil, fmt.Errorf("sink %s: no directory", name)
	}
	var codec compress.Codec
	switch o.Compression {
	case "none":
		codec = &parquet.Uncompressed
	case "", "snappy":
		codec = &parquet.Snappy
	case "gzip":
		codec = &parquet.Gzip
	case "lz4":
		codec = &parquet.Lz4Raw
	case "zstd":
		codec = &parquet.Zstd
	default:
		return nil, fmt.Errorf("sink %s: unknown compression %q", name, o.Compression)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sink %s: %w", name, err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, ".sluice.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", name, err)
	}
	if err := lockFile(lf); err != nil {
		lf.Close()
		return nil, fmt.Errorf("sink %s: %s: %w", name, dir, err)
	}
	return &parquetSink{name: name, dir: dir, o: o, codec: codec, lock: lf}, nil
}

var partName = regexp.MustCompile(`^(\.?)part-(\d{6,})\.parquet(\.pending|\.inprogress)?$`)

func (s *parquetSink) final(n uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("part-%06d.parquet", n))
}
func (s *parquetSink) pendingName(n uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf(".part-%06d.parquet.pending", n))
}
func (s *parquetSink) inprogress(n uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf(".part-%06d.parquet.inprogress", n))
}

func (s *parquetSink) Write(ctx context.Context, p *abi.Page, sel []byte) error {
	if err := s.usable(); err != nil {
		return err
	}
	if !s.restored {
		return fmt.Errorf("sink %s: Write before Restore", s.name)
	}
	if p.Schema != s.schema && (s.schema == nil || !sameSchema(p.Schema, s.schema)) {
		// Another schema: its rows go to a file of their own.
		if err := s.closeFile(); err != nil {
			return err
		}
		ps, err := newPSchema(p.Schema, s.o.DecimalScale)
		if err != nil {
			return fmt.Errorf("sink %s: page %d: %w", s.name, p.Number, err)
		}
		s.ps, s.sh = ps, shredder{ps: ps}
	}
	s.schema = p.Schema
	// Shred the whole page first: a bad cell fails it before any row
	// reaches the file.
	s.rows = s.rows[:0]
	var cells [][]byte
	var size int64
	for i := range p.NumRows() {
		if !selected(sel, i) {
			continue
		}
		row := p.Row(i)
		cells = row.AppendCells(cells[:0])
		r, err := s.sh.row(nil, cells)
		if err != nil {
			return fmt.Errorf("sink %s: page %d, row %d: %w", s.name, p.Number, i, err)
		}
		s.rows = append(s.rows, r)
		size += int64(len(row.Bytes()))
	}
	if len(s.rows) == 0 {
		return nil
	}
	if s.w == nil {
		if err := s.openFile(); err != nil {
			return err
		}
	}
	if _, err := s.w.WriteRows(s.rows); err != nil {
		return s.fail(fmt.Errorf("sink %s: page %d: %w", s.name, p.Number, err))
	}
	s.rgBytes += size
	if s.rgBytes >= s.o.RowGroupSize {
		if err := s.w.Flush(); err != nil {
			return s.fail(fmt.Errorf("sink %s: row group: %w", s.name, err))
		}
		s.rgBytes = 0
	}
	if s.cw.n+s.rgBytes >= s.o.FileSize {
		return s.closeFile()
	}
	return nil
}

func sameSchema(a, b *abi.Schema) bool {
	return slices.EqualFunc(a.Columns, b.Columns, func(x, y abi.Column) bool { return x.Name == y.Name && x.Type.String() == y.Type.String() })
}

func (s *parquetSink) openFile() error {
	f, err := os.OpenFile(s.inprogress(s.seq), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return s.fail(fmt.Errorf("sink %s: %w", s.name, err))
	}
	s.f = f
	s.cw = &countWriter{w: f}
	s.w = parquet.NewWriter(s.cw, s.ps.schema, parquet.Compression(s.codec),
		parquet.CreatedBy("sluice", "", ""), parquet.PageBufferSize(1<<20))
	s.rgBytes = 0
	return nil
}

// closeFile ends the open file (footer, fsync) under its pending name.
func (s *parquetSink) closeFile() error {
	if s.w == nil {
		return nil
	}
	if err := s.w.Close(); err != nil {
		return s.fail(fmt.Errorf("sink %s: close %s: %w", s.name, s.inprogress(s.seq), err))
	}
	if err := s.f.Sync(); err != nil {
		return s.fail(fmt.Errorf("sink %s: fsync %s: %w", s.name, s.inprogress(s.seq), err))
	}
	if err := s.f.Close(); err != nil {
		return s.fail(fmt.Errorf("sink %s: %w", s.name, err))
	}
	if err := os.Rename(s.inprogress(s.seq), s.pendingName(s.seq)); err != nil {
		return s.fail(fmt.Errorf("sink %s: %w", s.name, err))
	}
	s.pending = append(s.pending, s.seq)
	s.seq++
	s.f, s.w, s.cw = nil, nil, nil
	return nil
}

// Flush closes the open file: every row written is in a complete,
// fsynced pending file.
func (s *parquetSink) Flush(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := s.closeFile(); err != nil {
		return err
	}
	if len(s.pending) > 0 {
		if err := syncDir(s.dir); err != nil {
			return s.fail(fmt.Errorf("sink %s: fsync %s: %w", s.name, s.dir, err))
		}
	}
	return nil
}

// Publish renames the pending files to their final names: the checkpoint
// that covers them is saved.
func (s *parquetSink) Publish(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	for _, n := range s.pending {
		if err := os.Rename(s.pendingName(n), s.final(n)); err != nil {
			return s.fail(fmt.Errorf("sink %s: publish: %w", s.name, err))
		}
	}
	if len(s.pending) > 0 {
		s.pending = s.pending[:0]
		if err := syncDir(s.dir); err != nil {
			return s.fail(fmt.Errorf("sink %s: fsync %s: %w", s.name, s.dir, err))
		}
	}
	return nil
}

// Position is 'Q', version 1, then the number of the first file not
// complete (big-endian uint64).
func (s *parquetSink) Position() Offset {
	return binary.BigEndian.AppendUint64([]byte{'Q', 1}, s.seq)
}

func (s *parquetSink) Restore(off Offset) error {
	if err := s.usable(); err != nil {
		return err
	}
	if s.restored {
		return fmt.Errorf("sink %s: Restore called twice", s.name)
	}
	var pos uint64
	fresh := off == nil
	if !fresh {
		if len(off) != 10 || off[0] != 'Q' || off[1] != 1 {
			return fmt.Errorf("sink %s: %w (not a parquet sink's offset)", s.name, ErrBadOffset)
		}
		pos = binary.BigEndian.Uint64(off[2:])
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	for _, e := range ents {
		m := partName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, err := strconv.ParseUint(m[2], 10, 64)
		if err != nil {
			continue
		}
		path := filepath.Join(s.dir, e.Name())
		switch {
		case fresh:
			err = os.Remove(path)
		case m[1] == "" && m[3] == "": // published
			if n >= pos {
				return fmt.Errorf("sink %s: %s is published but the checkpoint covers files below part-%06d only: the checkpoint is older than the directory (restore the matching checkpoint, or delete the checkpoint to start over, which empties %s)", s.name, path, pos, s.dir)
			}
		case m[3] == ".pending" && n < pos:
			// Checkpointed; the process died before it was published.
			err = os.Rename(path, s.final(n))
		default:
			err = os.Remove(path) // not checkpointed: its rows are read again
		}
		if err != nil {
			return fmt.Errorf("sink %s: restore: %w", s.name, err)
		}
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	s.seq = pos
	s.restored = true
	return nil
}

// Close abandons an open file (its rows were never checkpointed; a rerun
// deletes it) and releases the directory lock.
func (s *parquetSink) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.f != nil {
		s.f.Close()
	}
	return s.lock.Close()
}

func (s *parquetSink) usable() error {
	if s.closed {
		return ErrClosed
	}
	return s.err
}

func (s *parquetSink) fail(err error) error {
	s.err = err
	return err
}
