package pager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// ErrClosed is returned by Next after Close. The consumer walked away on
// purpose; nothing needs reporting.
var ErrClosed = errors.New("pager: closed")

// ErrStarted is returned by Resume after the first call to Next: a
// checkpoint can only be applied before paging starts.
var ErrStarted = errors.New("pager: already started")

// FetchError is the error that stops a stream when a page cannot be
// fetched: the cause was not retryable, or it was and every retry failed.
// It names the stream, the split, the page and the position to resume
// from; Unwrap returns the cause, so errors.Is/As see the driver's error.
type FetchError struct {
	Stream    string
	Split     Split
	Page      uint64   // page of the split that failed, 1-based (Resume.Pages + 1)
	Attempts  int      // fetch attempts made for that page
	Retryable bool     // the last cause was retryable: the retries were exhausted
	Resume    Position // where the split resumes: the paging state of the failed page
	Err       error    // the last cause
}

// Error reports everything on one line.
func (e *FetchError) Error() string {
	why := "not retryable"
	if e.Retryable {
		why = "retries exhausted"
	}
	st := "the start of the split"
	if len(e.Resume.PageState) > 0 {
		st = "page state " + shortHex(e.Resume.PageState)
	}
	return fmt.Sprintf("pager: stream %q: %s: page %d: fetch failed after %d attempt(s) (%s); resume from %s (%d pages, %d rows read in this split): %v",
		e.Stream, e.Split, e.Page, e.Attempts, why, st, e.Resume.Pages, e.Resume.Rows, e.Err)
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// IsRetryable reports whether a page fetch that failed with err may be
// retried with the same paging state: timeouts (gocql.ErrTimeoutNoResponse,
// a read timeout or an unavailable/overloaded/bootstrapping answer from the
// coordinator, context.DeadlineExceeded of the per-page timeout), and lost
// or missing connections (gocql.ErrConnectionClosed, ErrNoConnections,
// io errors, net.Error). Everything else (syntax, invalid query, read
// failure, unauthorized, a cancelled context) is not.
//
// The pager only calls this while the stream's own context is alive, so a
// context.DeadlineExceeded here always comes from the per-page timeout.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, gocql.ErrTimeoutNoResponse),
		errors.Is(err, gocql.ErrConnectionClosed),
		errors.Is(err, gocql.ErrNoConnections),
		errors.Is(err, gocql.ErrUnavailable),
		errors.Is(err, gocql.ErrNoStreams),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var (
		readTimeout *gocql.RequestErrReadTimeout
		unavailable *gocql.RequestErrUnavailable
		overloaded  *gocql.RequestErrOverloaded
	)
	if errors.As(err, &readTimeout) || errors.As(err, &unavailable) || errors.As(err, &overloaded) {
		return true
	}
	var re gocql.RequestError
	if errors.As(err, &re) {
		switch re.Code() {
		case gocql.ErrCodeReadTimeout, gocql.ErrCodeUnavailable, gocql.ErrCodeOverloaded, gocql.ErrCodeBootstrapping:
			return true
		}
		return false
	}
	// gocql reports some connection losses as plain errors.
	msg := err.Error()
	return strings.Contains(msg, "use of closed network connection") ||
		strings.Contains(msg, "connection reset by peer") ||
		strings.Contains(msg, "broken pipe")
}
