// Package follow holds the end-to-end tests of follow mode
// (docs/follow.md): the real sluice binary, built from this checkout,
// follows a time-bucketed table of the real Cassandra node while a
// concurrent writer inserts events (some of them late), is SIGKILLed and
// rerun, and its output is checked against an independent read of the
// table by the test's own client.
package follow

import (
	"fmt"
	"os"
	"testing"

	"github.com/sluicehq/sluice/test/reliability/e2e"
)

// ks is this package's keyspace; no other package uses it.
const ks = "rel_follow"

func TestMain(m *testing.M) {
	e2e.Keyspace = ks
	dir, err := os.MkdirTemp("", "sluice-follow-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := e2e.Build(dir, raceEnabled); err != nil {
		fmt.Fprintln(os.Stderr, "follow:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	e2e.Cleanup()
	os.RemoveAll(dir)
	os.Exit(code)
}
