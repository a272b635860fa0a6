package reliability

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/test/reliability/e2e"
)

// Bad configs and bad state, end to end: every config of
// internal/config/testdata/bad makes `sluice run` and `sluice check` exit 2
// printing exactly the golden problems; and the state a rerun finds
// (checkpoint, output file, another process) never makes sluice go on
// silently: it refuses, saying what is wrong and what to do.

// TestBadConfigsEndToEnd runs every bad config of the config package's
// golden corpus through the binary.
func TestBadConfigsEndToEnd(t *testing.T) {
	src := filepath.Join(e2e.RepoRoot, "internal", "config", "testdata", "bad")
	files, err := filepath.Glob(filepath.Join(src, "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs in %s: %v", src, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".toml"), func(t *testing.T) {
			golden := readFile(t, strings.TrimSuffix(f, ".toml")+".golden")
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, name), readFile(t, f), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"run", "check"} {
				res := run(t, dir, nil, cmd, "-config", name)
				if res.Code != 2 {
					t.Errorf("sluice %s: exit %d, want 2", cmd, res.Code)
				}
				// The goldens are config.Parse's; the CLI loads the file
				// (config.Load), which also reports plugin modules missing on
				// disk, each on its own line: those are not Parse's to list.
				want := "sluice: " + string(golden)
				var kept []string
				for _, l := range strings.SplitAfter(res.Stderr, "\n") {
					if !strings.Contains(l, ".path: plugin module ") {
						kept = append(kept, l)
					}
				}
				res.Stderr = strings.Join(kept, "")
				if !strings.HasPrefix(res.Stderr, "sluice: ") {
					res.Stderr = "sluice: " + res.Stderr
				}
				if res.Stderr != want {
					t.Errorf("sluice %s: stderr\n%s\nwant exactly\n%s", cmd, res.Stderr, want)
				}
				if res.Stdout != "" {
					t.Errorf("sluice %s wrote to stdout: %q", cmd, res.Stdout)
				}
			}
		})
	}
}

// TestBadSetupEndToEnd: problems found before any row is read exit 2 with
// a message naming the culprit; an unreachable node exits non-zero naming
// the address.
func TestBadSetupEndToEnd(t *testing.T) {
	ensureEvents(t, smallTable, smallRows)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.toml")
	if err := os.WriteFile(garbage, []byte("\x00\x01\x02 not toml ]]]"), 0o644); err != nil {
		t.Fatal(err)
	}
	one := func(s streamCfg) string {
		s.Sinks = []sinkCfg{{Format: "jsonl", Path: filepath.Join(dir, s.Name+".jsonl")}}
		return cfg{Streams: []streamCfg{s}}.Write(t, dir, s.Name+".toml")
	}
	unreachable := cfg{Hosts: []string{"127.0.0.1:1"}, Streams: []streamCfg{{Name: "x", Table: smallTable,
		Sinks: []sinkCfg{{Format: "jsonl", Path: filepath.Join(dir, "x.jsonl")}}}}}.Write(t, dir, "unreachable.toml")
	cases := []struct {
		name   string
		args   []string
		code   int // for run; check always exits 2
		expect []string
	}{
		{"missing_config", []string{"-config", filepath.Join(dir, "nope.toml")}, 2, []string{"nope.toml", "no such file"}},
		{"config_is_a_directory", []string{"-config", dir}, 2, []string{"is a directory"}},
		{"config_too_large", []string{"-config", big}, 2, []string{"larger than"}},
		{"config_garbage", []string{"-config", garbage}, 2, []string{"garbage.toml:1:", "invalid TOML"}},
		{"missing_table", []string{"-config", one(streamCfg{Name: "nt", Table: "no_such_table"})}, 2, []string{`stream "nt"`, "no_such_table does not exist"}},
		{"missing_column", []string{"-config", one(streamCfg{Name: "nc", Table: smallTable, Columns: []string{"id", "no_such_column"}})}, 2, []string{`stream "nc"`, "no_such_column"}},
		{"bad_shard", []string{"-config", one(streamCfg{Name: "bs", Table: smallTable}), "-shard", "3/2"}, 2, []string{"-shard"}},
		{"unreachable_node", []string{"-config", unreachable}, 1, []string{"127.0.0.1:1", "connection refused"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range []string{"run", "check"} {
				res := run(t, dir, nil, append([]string{cmd}, tc.args...)...)
				want := tc.code
				if cmd == "check" {
					want = 2
				}
				if cr := crashed(res.Stderr); cr != "" {
					t.Fatalf("sluice %s crashed:\n%s", cmd, res.Stderr)
				}
				rep := errorReport(res.Stderr)
				if res.Code != want || rep == "" {
					t.Errorf("sluice %s: exit %d, want %d with an error report:\n%s", cmd, res.Code, want, tail(res.Stderr, 10))
					continue
				}
				for _, s := range tc.expect {
					if !strings.Contains(rep, s) {
						t.Errorf("sluice %s: the error lacks %q:\n%s", cmd, s, rep)
					}
				}
			}
		})
	}
}

// stopped runs a config until its checkpoint has some pages, then stops
// it with SIGTERM (exit 130), leaving a partial run behind.
func stopped(t *testing.T, dir, path, name string) {
	t.Helper()
	p := start(t, dir, nil, "run", "-config", path)
	if !waitCheckpoint(p, dir, name, 4) {
		res := p.Wait(t)
		t.Fatalf("the run ended (exit %d) before a checkpoint:\n%s", res.Code, tail(res.Stderr, 20))
	}
	p.Signal(t, syscall.SIGTERM)
	if res := p.Wait(t); res.Code != 130 {
		t.Fatalf("SIGTERM: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
}

// TestBadStateOnResume: what a rerun finds after a partial run.
func TestBadStateOnResume(t *testing.T) {
	ensureEvents(t, killTable, killRows)
	mk := func(t *testing.T, dir string, cols []string) (string, string) {
		out := filepath.Join(dir, "out.jsonl")
		return cfg{EveryPages: 2, Streams: []streamCfg{{Name: "st", Table: killTable, PageSize: killPage, RatePages: 20, Columns: cols,
			Sinks: []sinkCfg{{Format: "jsonl", Path: out}}}}}.Write(t, dir, "sluice.toml"), out
	}
	t.Run("query_changed", func(t *testing.T) {
		// The checkpoint belongs to another query: refuse, say how to start over.
		dir := t.TempDir()
		path, _ := mk(t, dir, []string{"id", "customer"})
		stopped(t, dir, path, "st")
		path, _ = mk(t, dir, []string{"id", "status"})
		res := run(t, dir, nil, "run", "-config", path)
		rep := errorReport(res.Stderr)
		if res.Code == 0 || !strings.Contains(rep, `stream "st"`) || !strings.Contains(rep, "checkpoint") {
			t.Fatalf("a checkpoint of another query: exit %d:\n%s", res.Code, tail(res.Stderr, 10))
		}
		t.Logf("exit %d: %s", res.Code, firstLine(rep))
	})
	t.Run("checkpoint_corrupt", func(t *testing.T) {
		dir := t.TempDir()
		path, _ := mk(t, dir, nil)
		stopped(t, dir, path, "st")
		cp := filepath.Join(dir, "checkpoints", "st.checkpoint.json")
		b := readFile(t, cp)
		if err := os.WriteFile(cp, b[:len(b)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		res := run(t, dir, nil, "run", "-config", path)
		rep := errorReport(res.Stderr)
		if res.Code == 0 || !strings.Contains(rep, cp) {
			t.Fatalf("a torn checkpoint file: exit %d, want an error naming %s:\n%s", res.Code, cp, tail(res.Stderr, 10))
		}
		t.Logf("exit %d: %s", res.Code, firstLine(rep))
	})
	t.Run("output_truncated", func(t *testing.T) {
		// The file holds less than the checkpoint says was written: rows
		// would be lost; refuse.
		dir := t.TempDir()
		path, out := mk(t, dir, nil)
		stopped(t, dir, path, "st")
		if err := os.Truncate(out, fileSize(out)/2); err != nil {
			t.Fatal(err)
		}
		res := run(t, dir, nil, "run", "-config", path)
		rep := errorReport(res.Stderr)
		if res.Code == 0 || !strings.Contains(rep, `"st"`) {
			t.Fatalf("an output file shorter than its checkpoint: exit %d:\n%s", res.Code, tail(res.Stderr, 10))
		}
		t.Logf("exit %d: %s", res.Code, firstLine(rep))
	})
	t.Run("output_deleted", func(t *testing.T) {
		dir := t.TempDir()
		path, out := mk(t, dir, nil)
		stopped(t, dir, path, "st")
		if err := os.Remove(out); err != nil {
			t.Fatal(err)
		}
		res := run(t, dir, nil, "run", "-config", path)
		rep := errorReport(res.Stderr)
		if res.Code == 0 || !strings.Contains(rep, `"st"`) {
			t.Fatalf("the output file of a checkpoint deleted: exit %d:\n%s", res.Code, tail(res.Stderr, 10))
		}
		t.Logf("exit %d: %s", res.Code, firstLine(rep))
	})
	t.Run("second_process", func(t *testing.T) {
		// Two processes on one stream: the second must not write the file.
		dir := t.TempDir()
		path, _ := mk(t, dir, nil)
		p := start(t, dir, nil, "run", "-config", path)
		if !waitCheckpoint(p, dir, "st", 2) {
			res := p.Wait(t)
			t.Fatalf("first run ended (exit %d):\n%s", res.Code, tail(res.Stderr, 10))
		}
		res := run(t, dir, nil, "run", "-config", path)
		rep := errorReport(res.Stderr)
		if res.Code == 0 || !strings.Contains(rep, "locked") {
			t.Errorf("a second process on the same stream: exit %d, want an error about the lock:\n%s", res.Code, tail(res.Stderr, 10))
		}
		t.Logf("exit %d: %s", res.Code, firstLine(rep))
		p.Signal(t, syscall.SIGTERM)
		if res := p.Wait(t); res.Code != 130 {
			t.Errorf("the first process: exit %d after SIGTERM:\n%s", res.Code, tail(res.Stderr, 10))
		}
	})
}

// TestCheckpointTableKey: checkpoint.table names the table of the
// cassandra checkpoint store ("Table of the cassandra store (created if
// missing)", docs/config.md). A key that is accepted and then ignored is a
// silent misconfiguration: the checkpoints must land in that table.
func TestCheckpointTableKey(t *testing.T) {
	ensureEvents(t, smallTable, smallRows)
	s := session(t)
	const table = "rel_custom_checkpoints"
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+"."+table)
	dir := t.TempDir()
	path := cfg{Store: "cassandra", CPTable: table, EveryPages: 5, Streams: []streamCfg{{Name: "cp_table_key", Table: smallTable, PageSize: smallPage,
		Sinks: []sinkCfg{{Format: "jsonl", Path: filepath.Join(dir, "out.jsonl")}}}}}.Write(t, dir, "sluice.toml")
	res := run(t, dir, nil, "run", "-config", path)
	if res.Code != 0 {
		t.Fatalf("exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
	var n int
	err := s.Query("SELECT count(*) FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?", ks, table).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("checkpoint.table = %q was ignored: no table %s.%s after a run with the cassandra checkpoint store (the store writes %s.sluice_checkpoints whatever the config says)", table, ks, table, ks)
	}
}
