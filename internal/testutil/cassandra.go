// Package testutil holds helpers shared by sluice's integration tests.
//
// Integration tests run against a real Apache Cassandra node (started by
// scripts/cassandra), never a mock. When the node cannot be reached the test
// fails: it does not skip, so CI (CI=true) can never pass by testing nothing.
package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/cqltype"
)

// Host is the contact point of the test node: $SLUICE_CASSANDRA or
// 127.0.0.1:9042.
func Host() string {
	if h := os.Getenv("SLUICE_CASSANDRA"); h != "" {
		return h
	}
	return "127.0.0.1:9042"
}

// Cluster returns a cluster config for the test node with settings suited to
// a single local node.
func Cluster() *gocql.ClusterConfig {
	c := gocql.NewCluster(Host())
	c.Timeout = 30 * time.Second
	c.ConnectTimeout = 10 * time.Second
	c.Consistency = gocql.One
	c.DisableInitialHostLookup = true
	c.Logger = gocql.NewLogger(gocql.LogLevelNone)
	c.RegisteredTypes = cqltype.Types() // as sluice's own sessions
	return c
}

var (
	sessOnce sync.Once
	sess     *gocql.Session
	sessErr  error
)

// Session returns a session to the test node shared by the whole test binary.
// It fails the test, never skips it, when the node is unreachable.
func Session(t testing.TB) *gocql.Session {
	t.Helper()
	sessOnce.Do(func() {
		sess, sessErr = Cluster().CreateSession()
	})
	if sessErr != nil {
		t.Fatalf("integration test needs a real Cassandra at %s (start one with `scripts/cassandra start`): %v", Host(), sessErr)
	}
	return sess
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// Keyspace creates (if needed) a SimpleStrategy RF=1 keyspace named after the
// test, so tests of different packages never share tables, and returns its
// name. The keyspace is kept after the test for inspection; tables inside are
// dropped and recreated by the tests that own them.
func Keyspace(t testing.TB, s *gocql.Session) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = unsafeName.ReplaceAllString(name, "_")
	if len(name) > 40 {
		name = name[:40]
	}
	name = "t_" + strings.Trim(name, "_")
	Exec(t, s, fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class':'SimpleStrategy','replication_factor':1}", name))
	return name
}

// Exec runs one statement and fails the test on error.
func Exec(t testing.TB, s *gocql.Session, stmt string, values ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Query(stmt, values...).WithContext(ctx).Exec(); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// CloseSession closes the shared session, if one was opened.
func CloseSession() {
	if sess != nil {
		sess.Close()
	}
}

// VerifyMain runs the tests of a package, closes the shared session, and
// then fails the binary if any goroutine is left behind (go.uber.org/goleak),
// so every stream, pager and sink test doubles as a leak test.
func VerifyMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	CloseSession()
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left behind after the tests:\n%v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Python returns the Python interpreter that has the Apache Cassandra
// Python driver (the independent client of the type tests):
// $SLUICE_PYTHON, else .cache/py-venv/bin/python at the repository root,
// as scripts/install-deps creates it. It fails the test when there is
// none.
func Python(t testing.TB) string {
	t.Helper()
	cands := []string{os.Getenv("SLUICE_PYTHON")}
	if out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
		cands = append(cands, filepath.Join(strings.TrimSpace(string(out)), ".cache", "py-venv", "bin", "python"))
	}
	for _, p := range cands {
		if p == "" {
			continue
		}
		if err := exec.Command(p, "-c", "import cassandra").Run(); err == nil {
			return p
		}
	}
	t.Fatalf("the test reads back with the Python driver: run scripts/install-deps (creates .cache/py-venv with cassandra-driver) or set SLUICE_PYTHON; tried %q", cands)
	return ""
}
