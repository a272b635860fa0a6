package sink

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sluicehq/sluice/abi"
)

// writerSink writes to an io.Writer (standard output): each Write renders
// the page into a reused buffer and hands it to the writer in one call, so
// whole pages (whole lines) reach the writer. It cannot be rewound.
//
// Owned by the stream's committer goroutine; not safe for concurrent use.
type writerSink struct {
	name   string
	w      io.Writer
	r      renderer
	buf    []byte
	header []string // CSV: the header written, nil before the first Write
	err    error    // sticky
	closed bool
}

// NewWriter returns a sink writing rows in format f to w. name is used in
// error messages ("stream/sink"). Position is always nil and Restore only
// accepts nil: a writer cannot be rewound, so after a restart the rows
// since the last checkpoint are written again (at-least-once).
func NewWriter(name string, w io.Writer, f Format) (Sink, error) {
	if !f.valid() {
		return nil, fmt.Errorf("sink %s: unknown format %q", name, f)
	}
	return &writerSink{name: name, w: w, r: renderer{format: f}}, nil
}

func (s *writerSink) Write(ctx context.Context, p *abi.Page, sel []byte) error {
	if err := s.check(); err != nil {
		return err
	}
	s.buf = s.buf[:0]
	if s.r.format == CSV {
		names := columnNames(p.Schema)
		switch {
		case s.header == nil:
			s.header = names
			s.buf = appendCSVHeader(s.buf, p.Schema)
		case !sameNames(s.header, names):
			s.err = fmt.Errorf("sink %s: csv: page %d has columns (%s) but the header has (%s): a CSV output needs one schema", s.name, p.Number, strings.Join(names, ", "), strings.Join(s.header, ", "))
			return s.err
		}
	}
	var err error
	if s.buf, err = s.r.appendPage(s.buf, p, sel); err != nil {
		s.err = fmt.Errorf("sink %s: %w", s.name, err)
		return s.err
	}
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.w.Write(s.buf); err != nil {
		s.err = fmt.Errorf("sink %s: write: %w", s.name, err)
		return s.err
	}
	if cap(s.buf) > 16<<20 { // do not keep an outsized buffer after a huge page
		s.buf = nil
	}
	return nil
}

func (s *writerSink) Flush(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	if f, ok := s.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			s.err = fmt.Errorf("sink %s: flush: %w", s.name, err)
			return s.err
		}
	}
	return nil
}

func (s *writerSink) Position() Offset { return nil }

func (s *writerSink) Restore(off Offset) error {
	if err := s.check(); err != nil {
		return err
	}
	if off != nil {
		return fmt.Errorf("sink %s: %w: a %s writer sink cannot be rewound, but the checkpoint holds a position for it", s.name, ErrBadOffset, s.r.format)
	}
	return nil
}

func (s *writerSink) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.buf = nil
	return nil
}

func (s *writerSink) check() error {
	if s.closed {
		return ErrClosed
	}
	return s.err
}
