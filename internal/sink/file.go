package sink

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/abi"
)

var errFileLocked = errors.New("the file is locked by another sluice stream or process")

// fileOffsetLen is the length of a file sink's Offset: 'F', the format
// ('j' or 'c'), then the file size as a big-endian uint64.
const fileOffsetLen = 10

// defaultFileBuffer is how much a file sink buffers before writing to the
// file (it also writes at every Flush).
const defaultFileBuffer = 1 << 20

// maxHeaderLen bounds the CSV header line read back after a restart.
const maxHeaderLen = 1 << 20

// fileSink writes rows to a file. Its Position is the file's size after the
// last Write; Restore truncates the file to a size from a checkpoint.
//
// Owned by the stream's committer goroutine; not safe for concurrent use.
type fileSink struct {
	name, path string
	f          *os.File
	r          renderer
	buf        []byte // rendered, not yet written to f
	threshold  int    // write buf to f when it grows beyond this
	size       int64  // logical size: bytes in f plus len(buf)
	header     []string
	created    bool // the file was created: sync its directory at the first Flush
	wrote      bool // Write was called: Restore is no longer allowed
	err        error
	closed     bool
}

// OpenFile opens (creating it and its directories if needed) the file at
// path for a sink writing rows in format f. name is used in error messages.
// The file is locked (flock) so no other sink can write it. Until Restore
// is called the sink appends to what the file holds; a stream calls
// Restore first: with its checkpoint's Offset to resume, with nil to start
// afresh (truncating the file).
func OpenFile(name, path string, f Format) (Sink, error) {
	if !f.valid() {
		return nil, fmt.Errorf("sink %s: unknown format %q", name, f)
	}
	if path == "" {
		return nil, fmt.Errorf("sink %s: no path", name)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sink %s: %w", name, err)
	}
	created := true
	fd, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		created = false
		fd, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", name, err)
	}
	s := &fileSink{name: name, path: path, f: fd, r: renderer{format: f}, threshold: defaultFileBuffer, created: created}
	if err := s.open(); err != nil {
		fd.Close()
		return nil, err
	}
	return s, nil
}

func (s *fileSink) open() error {
	if err := lockFile(s.f); err != nil {
		return fmt.Errorf("sink %s: %s: %w", s.name, s.path, err)
	}
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("sink %s: %s is not a regular file", s.name, s.path)
	}
	return s.seek(st.Size())
}

// seek positions the sink at size (after a truncation or at open) and
// reads the CSV header back when the file has one.
func (s *fileSink) seek(size int64) error {
	if _, err := s.f.Seek(size, io.SeekStart); err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	s.size = size
	s.header = nil
	if s.r.format == CSV && size > 0 {
		h, err := s.readHeader(size)
		if err != nil {
			return fmt.Errorf("sink %s: %s: reading the CSV header: %w", s.name, s.path, err)
		}
		s.header = h
	}
	return nil
}

func (s *fileSink) readHeader(size int64) ([]string, error) {
	n := min(size, maxHeaderLen)
	data := make([]byte, n)
	if _, err := s.f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	end := bytes.IndexByte(data, '\n')
	if end < 0 {
		return nil, fmt.Errorf("no complete header line in the first %d bytes", n)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil {
		return nil, err
	}
	if off := r.InputOffset(); off > n || data[off-1] != '\n' {
		return nil, fmt.Errorf("no complete header line in the first %d bytes", n)
	}
	return rec, nil
}

func (s *fileSink) Write(ctx context.Context, p *abi.Page, sel []byte) error {
	if err := s.check(); err != nil {
		return err
	}
	s.wrote = true
	start := len(s.buf)
	if s.r.format == CSV {
		names := columnNames(p.Schema)
		switch {
		case s.size == 0 && s.header == nil:
			s.header = names
			s.buf = appendCSVHeader(s.buf, p.Schema)
		case !sameNames(s.header, names):
			s.err = fmt.Errorf("sink %s: %s: page %d has columns (%s) but the CSV header has (%s): a CSV file holds one schema", s.name, s.path, p.Number, strings.Join(names, ", "), strings.Join(s.header, ", "))
			return s.err
		}
	}
	var err error
	if s.buf, err = s.r.appendPage(s.buf, p, sel); err != nil {
		s.buf = s.buf[:start]
		s.err = fmt.Errorf("sink %s: %w", s.name, err)
		return s.err
	}
	s.size += int64(len(s.buf) - start)
	if len(s.buf) >= s.threshold {
		return s.writeOut()
	}
	return nil
}

// writeOut writes the buffer to the file.
func (s *fileSink) writeOut() error {
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.f.Write(s.buf); err != nil {
		s.err = fmt.Errorf("sink %s: writing %s: %w", s.name, s.path, err)
		return s.err
	}
	if cap(s.buf) > 4*s.threshold {
		s.buf = nil
	} else {
		s.buf = s.buf[:0]
	}
	return nil
}

func (s *fileSink) Flush(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.writeOut(); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		s.err = fmt.Errorf("sink %s: fsync %s: %w", s.name, s.path, err)
		return s.err
	}
	if s.created {
		// Make the new directory entry durable too.
		if err := syncDir(filepath.Dir(s.path)); err != nil {
			s.err = fmt.Errorf("sink %s: fsync the directory of %s: %w", s.name, s.path, err)
			return s.err
		}
		s.created = false
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (s *fileSink) formatByte() byte {
	if s.r.format == CSV {
		return 'c'
	}
	return 'j'
}

func (s *fileSink) Position() Offset {
	off := make(Offset, 2, fileOffsetLen)
	off[0], off[1] = 'F', s.formatByte()
	return binary.BigEndian.AppendUint64(off, uint64(s.size))
}

func (s *fileSink) Restore(off Offset) error {
	if err := s.check(); err != nil {
		return err
	}
	if s.wrote {
		return fmt.Errorf("sink %s: Restore after Write", s.name)
	}
	var target int64
	if off != nil {
		if len(off) != fileOffsetLen || off[0] != 'F' {
			return fmt.Errorf("sink %s: %w: the checkpoint's position is not one of a file sink", s.name, ErrBadOffset)
		}
		if off[1] != s.formatByte() {
			return fmt.Errorf("sink %s: %w: the checkpoint's position is for another format than %s", s.name, ErrBadOffset, s.r.format)
		}
		u := binary.BigEndian.Uint64(off[2:])
		if u > 1<<62 {
			return fmt.Errorf("sink %s: %w: position %d is out of range", s.name, ErrBadOffset, u)
		}
		target = int64(u)
	}
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	if st.Size() < target {
		return fmt.Errorf("sink %s: %s is %d bytes, shorter than the %d bytes of the checkpoint: it was truncated or replaced since; move it away and delete the stream's checkpoint to start over", s.name, s.path, st.Size(), target)
	}
	if err := s.f.Truncate(target); err != nil {
		return fmt.Errorf("sink %s: truncating %s to %d bytes: %w", s.name, s.path, target, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sink %s: fsync %s: %w", s.name, s.path, err)
	}
	return s.seek(target)
}

func (s *fileSink) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.buf = nil
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("sink %s: closing %s: %w", s.name, s.path, err)
	}
	return nil
}

func (s *fileSink) check() error {
	if s.closed {
		return ErrClosed
	}
	return s.err
}
