// Package reliability holds sluice's end-to-end reliability and security
// tests: network faults injected by internal/faultproxy, SIGKILL and
// SIGTERM mid-stream with resume from the checkpoint, hostile plugins (at
// load, on a page, and as hot swaps), bad configs, bad state and bad data,
// 50 concurrent streams with hot swaps, the admin endpoint's
// authentication, and the sandbox seen from a plugin. They run the real
// sluice binary (built by TestMain from this checkout, race-enabled when
// the tests are) against the real Cassandra node; the concurrency test
// runs internal/stream in-process.
//
// Tests that stop or restart the Cassandra node live in test/restart and
// must run alone, after everything else (docs/security.md, "Tests").
//
// Environment:
//
//	SLUICE_CASSANDRA  the node (default 127.0.0.1:9042), as for every integration test
//	SLUICE_BIN        a prebuilt sluice binary to test instead of building one
//	SLUICE_LONG=1     long variants: more fault points, more kill points, longer hammer
package reliability

import (
	"fmt"
	"os"
	"testing"

	"github.com/sluicehq/sluice/test/reliability/e2e"
)

func TestMain(m *testing.M) {
	e2e.Keyspace = ks
	dir, err := os.MkdirTemp("", "sluice-reliability-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// The binary is race-enabled when this test binary is: a data race in
	// sluice under faults then fails the test that hit it.
	if err := e2e.Build(dir, raceEnabled); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	e2e.Cleanup()
	os.RemoveAll(dir)
	os.Exit(code)
}
