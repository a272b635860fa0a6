package host

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"unicode/utf8"
)

// tailBuffer keeps the last cap bytes written to it (a ring). It is owned by
// the goroutine that owns its Instance: the guest writes to it through WASI
// fd_write and sluice.log, which run on the calling goroutine.
type tailBuffer struct {
	buf   []byte // ring storage, len == capacity once full
	next  int    // write position in buf once full
	full  bool
	limit int
	total int64 // bytes ever written
}

func newTailBuffer(limit int) *tailBuffer {
	return &tailBuffer{limit: limit}
}

func (t *tailBuffer) Write(p []byte) {
	t.total += int64(len(p))
	if t.limit <= 0 {
		return
	}
	if len(p) >= t.limit {
		p = p[len(p)-t.limit:]
		t.buf = append(t.buf[:0], p...)
		t.next, t.full = 0, true
		return
	}
	if !t.full {
		if len(t.buf)+len(p) <= t.limit {
			t.buf = append(t.buf, p...)
			return
		}
		// Fill up to the limit, then wrap.
		n := t.limit - len(t.buf)
		t.buf = append(t.buf, p[:n]...)
		p = p[n:]
		t.full, t.next = true, 0
	}
	for len(p) > 0 {
		n := copy(t.buf[t.next:], p)
		p = p[n:]
		t.next = (t.next + n) % t.limit
	}
}

// String returns the kept bytes in write order. When bytes were dropped, the
// text starts at the first complete line and is preceded by a note saying how
// much was dropped; invalid UTF-8 is replaced.
func (t *tailBuffer) String() string {
	var b []byte
	if t.full {
		b = make([]byte, 0, len(t.buf))
		b = append(b, t.buf[t.next:]...)
		b = append(b, t.buf[:t.next]...)
	} else {
		b = t.buf
	}
	dropped := t.total - int64(len(b))
	if dropped > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			dropped += int64(i + 1)
			b = b[i+1:]
		}
	}
	s := string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
	if dropped > 0 {
		s = fmt.Sprintf("[%d earlier bytes not kept]\n", dropped) + s
	}
	return s
}

// Log caps (defaults for InstanceConfig; see docs/host.md).
const (
	defaultLogLineMax      = 4 << 10  // longest forwarded line; longer ones are cut
	defaultLogBytesPerCall = 64 << 10 // forwarded bytes per call into the plugin
	defaultLogBytesTotal   = 64 << 20 // forwarded bytes over the instance's life
)

// logSource says where a line came from.
type logSource uint8

const (
	srcStdout logSource = iota
	srcStderr
	srcLog
)

var sourceNames = [...]string{srcStdout: "stdout", srcStderr: "stderr", srcLog: "sluice.log"}

// outputCapture receives everything a plugin says (stdout, stderr,
// sluice.log): it keeps a tail for error reports and forwards complete
// lines to a slog.Logger within caps, so that a flood costs the host at
// most a bounded amount of logging. Owned by the Instance's owner goroutine.
type outputCapture struct {
	tail    *tailBuffer
	logger  *slog.Logger
	lineMax int
	perCall int
	total   int64

	partial [2][]byte // unterminated line of stdout, stderr

	callBytes    int   // forwarded this call
	callDropped  int   // bytes dropped this call (over a cap)
	callLines    int   // lines dropped this call
	forwarded    int64 // forwarded over the instance's life
	totalDropped int64
	totalWarned  bool

	page  uint64 // page being processed, for log attributes (0 = none)
	split uint32
}

func newOutputCapture(logger *slog.Logger, tailCap, lineMax, perCall int, total int64) *outputCapture {
	return &outputCapture{
		tail:    newTailBuffer(tailCap),
		logger:  logger,
		lineMax: lineMax,
		perCall: perCall,
		total:   total,
	}
}

// stream returns an io.Writer for stdout or stderr.
func (c *outputCapture) stream(src logSource) *captureWriter {
	return &captureWriter{c: c, src: src}
}

type captureWriter struct {
	c   *outputCapture
	src logSource
}

// Write never fails: the guest must not be able to make the host's logging
// fail, nor learn that its output is being dropped.
func (w *captureWriter) Write(p []byte) (int, error) {
	w.c.write(w.src, p)
	return len(p), nil
}

func (c *outputCapture) write(src logSource, p []byte) {
	c.tail.Write(p)
	part := &c.partial[src]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			// Keep at most lineMax bytes of an unterminated line; the rest
			// of the line is counted as dropped when it ends.
			room := c.lineMax - len(*part)
			if room > 0 {
				*part = append(*part, p[:min(room, len(p))]...)
			}
			if len(p) > room {
				c.callDropped += len(p) - max(room, 0)
			}
			return
		}
		line := p[:i]
		p = p[i+1:]
		if len(*part) > 0 {
			room := c.lineMax - len(*part)
			if room > 0 {
				*part = append(*part, line[:min(room, len(line))]...)
			}
			if len(line) > room {
				c.callDropped += len(line) - max(room, 0)
			}
			c.emit(src, slogLevelFor(src), *part, false)
			*part = (*part)[:0]
			continue
		}
		cut := false
		if len(line) > c.lineMax {
			c.callDropped += len(line) - c.lineMax
			line, cut = line[:c.lineMax], true
		}
		c.emit(src, slogLevelFor(src), line, cut)
	}
}

func slogLevelFor(src logSource) slog.Level {
	if src == srcStderr {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// logMessage handles one sluice.log call.
func (c *outputCapture) logMessage(level int32, msg []byte) {
	var lv slog.Level
	switch level {
	case 0:
		lv = slog.LevelDebug
	case 1:
		lv = slog.LevelInfo
	case 2:
		lv = slog.LevelWarn
	case 3:
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	// Keep the log line in the tail too, so that error reports show what
	// the plugin said last whichever channel it used.
	c.tail.Write([]byte(fmt.Sprintf("[%s] ", levelName(level))))
	c.tail.Write(msg)
	if len(msg) == 0 || msg[len(msg)-1] != '\n' {
		c.tail.Write([]byte{'\n'})
	}
	cut := false
	if len(msg) > c.lineMax {
		c.callDropped += len(msg) - c.lineMax
		msg, cut = msg[:c.lineMax], true
	}
	c.emit(srcLog, lv, msg, cut)
}

func levelName(level int32) string {
	switch level {
	case 0:
		return "debug"
	case 1:
		return "info"
	case 2:
		return "warn"
	case 3:
		return "error"
	}
	return fmt.Sprintf("level %d", level)
}

func (c *outputCapture) emit(src logSource, lv slog.Level, line []byte, cut bool) {
	n := len(line)
	if c.callBytes+n > c.perCall || c.forwarded+int64(n) > c.total {
		c.callDropped += n
		c.callLines++
		return
	}
	c.callBytes += n
	c.forwarded += int64(n)
	if c.logger == nil || !c.logger.Enabled(context.Background(), lv) {
		return
	}
	text := string(bytes.ToValidUTF8(line, []byte("\uFFFD")))
	if cut {
		text += "…(line cut)"
	}
	attrs := []slog.Attr{slog.String("source", sourceNames[src])}
	if c.page != 0 {
		attrs = append(attrs, slog.Uint64("page", c.page), slog.Uint64("split", uint64(c.split)))
	}
	c.logger.LogAttrs(context.Background(), lv, text, attrs...)
}

// endCall flushes unterminated lines and reports, once per call, how much
// output the caps dropped.
func (c *outputCapture) endCall() {
	for src := range c.partial {
		if len(c.partial[src]) > 0 {
			c.emit(logSource(src), slogLevelFor(logSource(src)), c.partial[src], false)
			c.partial[src] = c.partial[src][:0]
		}
	}
	if c.callDropped > 0 || c.callLines > 0 {
		c.totalDropped += int64(c.callDropped)
		if c.logger != nil {
			if c.forwarded >= c.total {
				if !c.totalWarned {
					c.totalWarned = true
					c.logger.Warn("plugin output over the instance's total log cap: further output is dropped (the tail is still kept for error reports)",
						slog.Int64("cap_bytes", c.total))
				}
			} else {
				c.logger.Warn("plugin output over the per-call log cap: output dropped",
					slog.Int("dropped_bytes", c.callDropped), slog.Int("dropped_lines", c.callLines),
					slog.Int("cap_bytes", c.perCall), slog.Uint64("page", c.page))
			}
		}
	}
	c.callBytes, c.callDropped, c.callLines = 0, 0, 0
}

// validUTF8Prefix returns s cut to at most n bytes on a rune boundary.
func validUTF8Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
