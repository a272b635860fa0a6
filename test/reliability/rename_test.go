package reliability

import (
	"bytes"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/test/reliability/e2e"
)

// Renaming a sink or a stateful plugin between a crash and the rerun
// (issue 11, defect 2). A checkpoint holds each sink's offset and each
// plugin's state under its name. A rerun under other names must either map
// them unambiguously or refuse with exit 2, naming what changed and how to
// start over. It must never take the missing offset for a fresh start (and
// truncate the file while resuming the scan from the checkpoint), nor
// start the plugin's counts from nothing.

const renameStream = "rename"

// renameConfig is the config of the rename tests: 20 pages at 20 pages/s,
// a checkpoint every 5.
func renameConfig(s streamCfg) cfg {
	s.Name, s.Table, s.PageSize, s.RatePages = renameStream, smallTable, smallPage, 20
	return cfg{EveryPages: 5, Streams: []streamCfg{s}}
}

// killAfterCheckpoint runs s in dir until its checkpoint holds 10 of the
// 20 pages, SIGKILLs it and returns the content of the file out then.
func killAfterCheckpoint(t *testing.T, dir string, s streamCfg, out string) []byte {
	t.Helper()
	p := start(t, dir, nil, "run", "-config", renameConfig(s).Write(t, dir, "sluice.toml"))
	if !waitCheckpoint(p, dir, renameStream, 10) {
		res := p.Wait(t)
		t.Fatalf("the run ended (exit %d) before a checkpoint of 10 pages:\n%s", res.Code, tail(res.Stderr, 20))
	}
	p.Signal(t, syscall.SIGKILL)
	if res := p.Wait(t); res.Signal != "killed" {
		t.Fatalf("the run was not killed (exit %d, %s): it ended first:\n%s", res.Code, res.Signal, tail(res.Stderr, 20))
	}
	t.Logf("SIGKILL at checkpoint %d pages; %s holds %d bytes", checkpointPages(dir, renameStream), filepath.Base(out), fileSize(out))
	return readFile(t, out)
}

// refused checks a rerun refused after a rename: the report names the
// sink or plugin (by one of names, quoted) and the checkpoint, and the
// output file is as the kill left it.
func refused(t *testing.T, res e2e.Result, out string, before []byte, names ...string) {
	t.Helper()
	rep := errorReport(res.Stderr)
	named := false
	for _, n := range names {
		named = named || strings.Contains(rep, `"`+n+`"`)
	}
	if !named || !strings.Contains(rep, "checkpoint") {
		t.Errorf("exit 2, but the report does not name the renamed one (%q) and the checkpoint:\n%s", names, tail(res.Stderr, 20))
	}
	if after := readFile(t, out); !bytes.Equal(after, before) {
		t.Errorf("the refused rerun changed %s: %d bytes before, %d after", filepath.Base(out), len(before), len(after))
	}
	t.Logf("refused: %s", firstLine(rep))
}

// TestRenameAfterKill renames a file sink, then the count_by plugin,
// between a SIGKILL and the rerun.
func TestRenameAfterKill(t *testing.T) {
	ensureEvents(t, smallTable, smallRows)

	t.Run("sink", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out.jsonl")
		s := streamCfg{Sinks: []sinkCfg{{Format: "jsonl", Path: out}}} // named "file", its type
		before := killAfterCheckpoint(t, dir, s, out)
		renamed := s
		renamed.Sinks = []sinkCfg{{Name: "out", Format: "jsonl", Path: out}}
		res := run(t, dir, nil, "run", "-config", renameConfig(renamed).Write(t, dir, "sluice.toml"))
		want := clean(t, smallTable, smallRows, "jsonl", smallPage)
		switch res.Code {
		case 0:
			t.Log("the rerun accepted the renamed sink (exit 0): its output must be the clean run's")
			got := readFile(t, out)
			checkIDs(t, jsonlIDs(t, got), smallRows)
			sameOutput(t, "after renaming the sink", got, want)
		case 2:
			refused(t, res, out, before, "file", "out")
			// The refusal spoilt nothing: under its old name the
			// stream resumes and completes.
			res = run(t, dir, nil, "run", "-config", renameConfig(s).Write(t, dir, "sluice.toml"))
			if res.Code != 0 {
				t.Fatalf("rerun under the old name: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
			}
			sameOutput(t, "after a refused rename and a rerun under the old name", readFile(t, out), want)
		default:
			t.Fatalf("rerun after renaming the sink: exit %d, want 0 (the checkpoint mapped) or 2 (refused):\n%s", res.Code, tail(res.Stderr, 20))
		}
	})

	t.Run("plugin", func(t *testing.T) {
		truth := trueCounts(t, smallTable, "status")
		dir := t.TempDir()
		out := filepath.Join(dir, "counts.jsonl")
		// count_by on the default output: the rows are dropped, the
		// file gets the counts at the end.
		s := streamCfg{
			Plugins: []pluginCfg{{Path: countByWasm, Config: map[string]string{"column": "status"}}}, // named "count_by", its file name
			Sinks:   []sinkCfg{{Format: "jsonl", Path: out}},
		}
		before := killAfterCheckpoint(t, dir, s, out)
		renamed := s
		renamed.Plugins = []pluginCfg{{Name: "counter", Path: countByWasm, Config: map[string]string{"column": "status"}}}
		res := run(t, dir, nil, "run", "-config", renameConfig(renamed).Write(t, dir, "sluice.toml"))
		switch res.Code {
		case 0:
			t.Log("the rerun accepted the renamed plugin (exit 0): its counts must be the table's")
			got := readFile(t, out)
			sameCounts(t, "counts after renaming the plugin", parseCounts(t, got), truth)
			// The clean run of the renamed config: one flush, the same bytes.
			cleanDir := t.TempDir()
			cleanOut := filepath.Join(cleanDir, "counts.jsonl")
			cleanCfg := renameConfig(streamCfg{Plugins: renamed.Plugins, Sinks: []sinkCfg{{Format: "jsonl", Path: cleanOut}}})
			cleanCfg.Streams[0].RatePages = 0
			if res := run(t, cleanDir, nil, "run", "-config", cleanCfg.Write(t, cleanDir, "sluice.toml")); res.Code != 0 {
				t.Fatalf("clean run: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
			}
			sameOutput(t, "counts after renaming the plugin", got, readFile(t, cleanOut))
		case 2:
			refused(t, res, out, before, "count_by", "counter")
			res = run(t, dir, nil, "run", "-config", renameConfig(s).Write(t, dir, "sluice.toml"))
			if res.Code != 0 {
				t.Fatalf("rerun under the old name: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
			}
			sameCounts(t, "counts after a refused rename and a rerun under the old name", parseCounts(t, readFile(t, out)), truth)
		default:
			t.Fatalf("rerun after renaming the plugin: exit %d, want 0 (the checkpoint mapped) or 2 (refused):\n%s", res.Code, tail(res.Stderr, 20))
		}
	})
}
