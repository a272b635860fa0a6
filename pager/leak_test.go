package pager

import (
	"testing"

	"go.uber.org/goleak"
)

// gocqlBackground are the entry points of the driver's own long-lived
// goroutines (connections, heartbeats, event debouncers, pool filling and
// reconnection). The integration tests share one session per test binary,
// which may open connections at any time; those goroutines belong to the
// session, not to the pager, and are ignored by the leak checks.
var gocqlBackground = []string{
	"github.com/apache/cassandra-gocql-driver/v2.(*Conn).serve",
	"github.com/apache/cassandra-gocql-driver/v2.(*Conn).heartBeat",
	"github.com/apache/cassandra-gocql-driver/v2.(*controlConn).heartBeat",
	"github.com/apache/cassandra-gocql-driver/v2.(*Session).reconnectDownedHosts",
	"github.com/apache/cassandra-gocql-driver/v2.(*eventDebouncer).flusher",
	"github.com/apache/cassandra-gocql-driver/v2.(*refreshDebouncer).flusher",
	"github.com/apache/cassandra-gocql-driver/v2.(*writeCoalescer).writeFlusher",
	"github.com/apache/cassandra-gocql-driver/v2.(*hostConnPool).fill",
	"github.com/apache/cassandra-gocql-driver/v2.(*hostConnPool).fillingStopped",
	"github.com/apache/cassandra-gocql-driver/v2.(*hostConnPool).connect",
	"github.com/apache/cassandra-gocql-driver/v2.(*policyConnPool).addHost",
	"github.com/apache/cassandra-gocql-driver/v2.(*controlConn).reconnect",
}

// leakCheck returns the goroutine leak check of a stream test: every
// goroutine that exists at its end and not at its start is a leak, except
// the shared gocql session's own. Use: defer leakCheck(t)().
func leakCheck(t *testing.T) func() {
	t.Helper()
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	for _, f := range gocqlBackground {
		opts = append(opts, goleak.IgnoreAnyFunction(f))
	}
	return func() {
		t.Helper()
		goleak.VerifyNone(t, opts...)
	}
}
