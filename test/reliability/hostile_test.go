package reliability

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Hostile plugins through the whole product: every module of the host's
// corpus (host/testdata, where host's own tests check the same modules
// in-process) run by `sluice run`. Each gives a clear error as the last
// thing on stderr, naming the stream, the plugin and what went wrong, exit
// code 2 when the module is refused before any row is read and 1 when it
// fails on a page, and never crashes the host. A module that fails on a
// page runs next to a healthy stream with on_error = "stop_stream": the
// healthy stream completes with the clean run's output.

const (
	smallTable = "events_2k"
	smallRows  = 2000
	smallPage  = 100
)

// hostileCase is one hostile module.
type hostileCase struct {
	name    string    // host/testdata/<name>.wasm, unless path is set
	path    string    // another module file
	code    int       // expected exit code: 2 refused at load, 1 failed on a page, 0 completes
	expect  []string  // substrings of the error report
	plugin  pluginCfg // overrides (limits)
	runtime string    // extra [runtime] keys
	sinks   []sinkCfg // extra sinks of the hostile stream
}

func hostileCases(t *testing.T) []hostileCase {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return []hostileCase{
		// Refused before any row is read.
		{name: "garbage", path: write("garbage.wasm", []byte("hello, not wasm")), code: 2, expect: []string{"not a WebAssembly module"}},
		{name: "empty", path: write("empty.wasm", nil), code: 2, expect: []string{"not a WebAssembly module (0 bytes"}},
		{name: "truncated", path: write("truncated.wasm", []byte("\x00asm\x01\x00\x00\x00\x01\x05")), code: 2, expect: []string{"invalid WebAssembly"}},
		{name: "missing_file", path: filepath.Join(dir, "no-such-plugin.wasm"), code: 2, expect: []string{"no-such-plugin.wasm"}},
		{name: "missing_export", code: 2, expect: []string{"missing required export sluice_process (i32, i32) -> (i64)"}},
		{name: "mistyped_export", code: 2, expect: []string{"export sluice_process has signature (i32) -> (i32), want (i32, i32) -> (i64)"}},
		{name: "no_memory", code: 2, expect: []string{"missing required export memory"}},
		{name: "command", code: 2, expect: []string{"exports _start", "-buildmode=c-shared"}},
		{name: "import_env_foo", code: 2, expect: []string{"import env.foo is not allowed"}},
		{name: "import_memory", code: 2, expect: []string{"import env.memory is a memory"}},
		{name: "wasi_bad_signature", code: 2, expect: []string{"import wasi_snapshot_preview1.fd_write has signature (i32) -> (i32)"}},
		{name: "wasi_unknown", code: 2, expect: []string{"open_the_pod_bay_doors is not a WASI preview 1 function"}},
		{name: "snapshot_no_restore", code: 2, expect: []string{"exports sluice_snapshot but not sluice_restore"}},
		{name: "big_memory", code: 2, expect: []string{"initial memory of 125 MiB (2000 pages) is over the memory limit of 64 MiB"}},
		{name: "abi_v2", code: 2, expect: []string{"plugin ABI version 2.0, host ABI version 1.0"}},
		{name: "abi_v1_1", code: 2, expect: []string{"plugin ABI version 1.1, host ABI version 1.0"}},
		{name: "start_trap", code: 2, expect: []string{"failed in start section", "unreachable"}},
		{name: "init_trap", code: 2, expect: []string{"failed in sluice_init", "wasm error: unreachable"}},
		{name: "alloc_lies", code: 2, expect: []string{"returned pointer 4294967040", "reaches past the end of the plugin's memory"}},
		{name: "init_error", code: 2, expect: []string{`plugin reported: missing required config key "field"`}},
		{name: "sha256_mismatch", path: fixture("passthrough"), code: 2, plugin: pluginCfg{Name: "pinned"}, expect: []string{"the config requires 0000"}},

		// Fail on a page.
		{name: "trap_page3", code: 1, expect: []string{"failed on page 3 split 0: wasm error: unreachable", "wasm stack trace"}},
		{name: "oob", code: 1, expect: []string{"out of bounds memory access"}},
		{name: "stack_overflow", code: 1, expect: []string{"wasm error: stack overflow"}},
		{name: "infinite_loop", code: 1, plugin: pluginCfg{PageTimeout: "300ms"}, expect: []string{"timed out: sluice_process did not return within 300ms"}},
		{name: "memory_bomb", code: 1, plugin: pluginCfg{MemoryLimit: "2MiB"}, expect: []string{"memory limit of 2 MiB reached"}},
		{name: "exit", code: 1, expect: []string{"exited with code 3 (WASI proc_exit) during sluice_process"}},
		{name: "giant_output", code: 1, expect: []string{"reaches past the end of the plugin's memory"}},
		{name: "result_over_cap", code: 1, runtime: "max_result_size = \"1MiB\"\n", expect: []string{"is over the cap of 1 MiB"}},
		{name: "malformed_result", code: 1, expect: []string{"magic 0x58585858"}},
		{name: "lying_ptr", code: 1, expect: []string{"result handle [ptr=131068, len=100] reaches past the end"}},
		{name: "select_wrong_rows", code: 1, expect: []string{"nrows=101, must equal the input page's 100 rows"}},
		{name: "error_row", code: 1, expect: []string{`row 2 (key id=`, `: plugin reported: bad value in column "age"`}},
		{name: "log_bad_ptr", code: 1, expect: []string{"sluice.log: message [ptr=4294967040, len=1000] is outside the plugin's memory"}},
		{name: "abort", code: 1, expect: []string{"abort: boom! at a.ts:7:3"}},
		{name: "rows_named_unrouted", path: fixture("rows_named"), code: 1, expect: []string{`output "audit", which no [[stream.sink]] takes`, "rather than dropping them"}},

		// Floods are capped, sleeping returns at once: these complete.
		{name: "log_flood", code: 0},
		{name: "stdout_flood", code: 0},
		{name: "sleeper", path: ownFixture("sleeper"), code: 0},
		{name: "passthrough", code: 0},
	}
}

// TestHostilePlugins runs each hostile module through `sluice run`.
func TestHostilePlugins(t *testing.T) {
	ensureEvents(t, smallTable, smallRows)
	want := clean(t, smallTable, smallRows, "jsonl", smallPage)
	var tried, refused, failed, completed int
	for _, tc := range hostileCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hostileOut := filepath.Join(dir, "hostile.jsonl")
			healthyOut := filepath.Join(dir, "healthy.jsonl")
			p := tc.plugin
			p.Path = tc.path
			if p.Path == "" {
				p.Path = fixture(tc.name)
			}
			hostile := streamCfg{Name: "hostile", OnError: "stop_stream", Table: smallTable, PageSize: smallPage,
				Plugins: []pluginCfg{p}, Sinks: append([]sinkCfg{{Format: "jsonl", Path: hostileOut}}, tc.sinks...)}
			healthy := streamCfg{Name: "healthy", OnError: "stop_stream", Table: smallTable, PageSize: smallPage,
				Plugins: []pluginCfg{{Path: fixture("passthrough")}}, Sinks: []sinkCfg{{Format: "jsonl", Path: healthyOut}}}
			c := cfg{Streams: []streamCfg{hostile, healthy}}
			path := c.Write(t, dir, "sluice.toml")
			patchConfig(t, path, tc)

			res := run(t, dir, nil, "run", "-config", path)
			tried++
			if cr := crashed(res.Stderr); cr != "" {
				t.Fatalf("the host crashed (%q):\n%s", cr, tail(res.Stderr, 40))
			}
			if res.Code != tc.code {
				t.Fatalf("exit %d, want %d; stderr ends:\n%s", res.Code, tc.code, tail(res.Stderr, 20))
			}
			switch tc.code {
			case 0:
				completed++
				sameOutput(t, "hostile (harmless) plugin", readFile(t, hostileOut), want)
				if len(res.Stderr) > 8<<20 {
					t.Errorf("stderr grew to %d bytes: the plugin's output is not capped", len(res.Stderr))
				}
				return
			case 2:
				refused++
			case 1:
				failed++
			}
			rep := errorReport(res.Stderr)
			if rep == "" {
				t.Fatalf("stderr does not end with an error report:\n%s", tail(res.Stderr, 20))
			}
			for _, s := range append([]string{`stream "hostile"`}, tc.expect...) {
				if !strings.Contains(rep, s) {
					t.Errorf("error report lacks %q:\n%s", s, rep)
				}
			}
			if strings.Contains(rep, `stream "healthy"`) {
				t.Errorf("the error report blames the healthy stream:\n%s", rep)
			}
			if tc.code == 2 {
				// sluice check refuses the same module with the same report.
				chk := run(t, dir, nil, "check", "-config", path)
				crep := errorReport(chk.Stderr)
				if chk.Code != 2 || crashed(chk.Stderr) != "" {
					t.Errorf("sluice check: exit %d, want 2:\n%s", chk.Code, tail(chk.Stderr, 10))
				}
				for _, s := range tc.expect {
					if !strings.Contains(crep, s) {
						t.Errorf("sluice check's report lacks %q:\n%s", s, crep)
					}
				}
			}
			if tc.code == 1 {
				// The healthy stream ran to its end.
				sameOutput(t, "healthy stream next to a failing one", readFile(t, healthyOut), want)
				if !strings.Contains(rep, "resume") {
					t.Errorf("a failure on a page does not say how to resume:\n%s", rep)
				}
			}
		})
	}
	t.Logf("hostile plugins tried: %d (%d refused at load, exit 2; %d failed on a page, exit 1, the healthy stream completing; %d harmless, completed)", tried, refused, failed, completed)
}

// patchConfig applies what cfg cannot express to the written config.
func patchConfig(t *testing.T, path string, tc hostileCase) {
	t.Helper()
	b := readFile(t, path)
	if tc.runtime != "" {
		b = bytes.Replace(b, []byte("[runtime]\n"), []byte("[runtime]\n"+tc.runtime), 1)
	}
	if tc.name == "sha256_mismatch" {
		b = bytes.Replace(b, []byte("  name = \"pinned\"\n"), []byte("  name = \"pinned\"\n  sha256 = \""+strings.Repeat("0", 64)+"\"\n"), 1)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHostileStopAll: with on_error = "stop_all" on its stream, a plugin
// failing on a page stops the other stream gracefully: it writes its
// checkpoint, its file ends at the checkpoint's offset, and a rerun of
// that stream alone resumes it to the clean output.
func TestHostileStopAll(t *testing.T) {
	ensureEvents(t, killTable, killRows)
	want := clean(t, killTable, killRows, "jsonl", killPage)
	dir := t.TempDir()
	healthyOut := filepath.Join(dir, "healthy.jsonl")
	healthy := streamCfg{Name: "healthy", Table: killTable, PageSize: killPage, RatePages: 10,
		Sinks: []sinkCfg{{Format: "jsonl", Path: healthyOut}}}
	hostile := streamCfg{Name: "hostile", OnError: "stop_all", Table: killTable, PageSize: killPage, RatePages: 1,
		Plugins: []pluginCfg{{Path: fixture("trap_page3")}}, Sinks: []sinkCfg{{Format: "jsonl", Path: filepath.Join(dir, "hostile.jsonl")}}}
	path := cfg{EveryPages: 2, Streams: []streamCfg{hostile, healthy}}.Write(t, dir, "sluice.toml")
	res := run(t, dir, nil, "run", "-config", path)
	if res.Code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", res.Code, tail(res.Stderr, 20))
	}
	rep := errorReport(res.Stderr)
	if !strings.Contains(rep, `stream "hostile": plugin "trap_page3"`) || !strings.Contains(rep, "failed on page 3") {
		t.Fatalf("error report:\n%s", rep)
	}
	pages := checkpointPages(dir, "healthy")
	off, ok := sinkOffset(dir, "healthy")
	if !ok || off != fileSize(healthyOut) || pages == 0 || pages >= killPages {
		t.Fatalf("the healthy stream was not stopped gracefully: checkpoint %d pages, offset %d (ok %v), file %d bytes; stderr:\n%s", pages, off, ok, fileSize(healthyOut), tail(res.Stderr, 30))
	}
	// Rerun the healthy stream alone: it resumes and completes.
	path2 := cfg{EveryPages: 2, Streams: []streamCfg{{Name: "healthy", Table: killTable, PageSize: killPage,
		Sinks: []sinkCfg{{Format: "jsonl", Path: healthyOut}}}}}.Write(t, dir, "healthy.toml")
	res = run(t, dir, nil, "run", "-config", path2)
	if res.Code != 0 || !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
		t.Fatalf("rerun: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
	sameOutput(t, "healthy stream stopped by stop_all, then resumed", readFile(t, healthyOut), want)
	t.Logf("stop_all stopped the healthy stream at %d pages; resumed to identical output", pages)
}

// TestFixturesUpToDate checks that the committed testdata/*.wasm are what
// build.sh (wat2wasm) makes of their .wat. Without wat2wasm it fails under
// CI=true, else skips.
func TestFixturesUpToDate(t *testing.T) {
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("wat2wasm (wabt) is not on PATH; CI must install it")
		}
		t.Skip("wat2wasm not on PATH")
	}
	wats, _ := filepath.Glob(filepath.Join("testdata", "*.wat"))
	if len(wats) == 0 {
		t.Fatal("no testdata/*.wat")
	}
	dir := t.TempDir()
	for _, wat := range wats {
		base := strings.TrimSuffix(filepath.Base(wat), ".wat")
		out := filepath.Join(dir, base+".wasm")
		if b, err := exec.Command(tool, "--debug-names", wat, "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s: %v\n%s", wat, err, b)
		}
		if !bytes.Equal(readFile(t, out), readFile(t, filepath.Join("testdata", base+".wasm"))) {
			t.Errorf("testdata/%s.wasm is stale: run test/reliability/testdata/build.sh", base)
		}
	}
}

// TestHostileHotSwap: while a stream runs, its plugin file is replaced by
// hostile modules one after the other and POST /reload asks for the swap.
// Each is refused (422, with the reason) before it touches a row, and the
// running version keeps going: the output equals the clean run's.
func TestHostileHotSwap(t *testing.T) {
	ensureEvents(t, killTable, killRows)
	want := clean(t, killTable, killRows, "jsonl", killPage)
	const token = "swap-token-42"
	dir := t.TempDir()
	pluginPath := filepath.Join(dir, "plugin.wasm")
	passthrough := readFile(t, fixture("passthrough"))
	replace := func(b []byte) {
		tmp := pluginPath + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, pluginPath); err != nil {
			t.Fatal(err)
		}
	}
	replace(passthrough)
	addr := freePort(t)
	out := filepath.Join(dir, "out.jsonl")
	mk := func(rate float64, name string) string {
		return cfg{EveryPages: 2, AdminListen: addr, AdminTokenEnv: "SLUICE_SWAP_TOKEN", Streams: []streamCfg{{Name: "swap", Table: killTable,
			PageSize: killPage, RatePages: rate,
			Plugins: []pluginCfg{{Name: "p", Path: pluginPath, PageTimeout: "300ms", MemoryLimit: "2MiB"}},
			Sinks:   []sinkCfg{{Format: "jsonl", Path: out}}}}}.Write(t, dir, name)
	}
	path := mk(4, "sluice.toml")
	env := []string{"SLUICE_SWAP_TOKEN=" + token}
	p := start(t, dir, env, "run", "-config", path)
	waitHTTP(t, p, "http://"+addr+"/healthz")
	if !waitCheckpoint(p, dir, "swap", 2) {
		res := p.Wait(t)
		t.Fatalf("exit %d before the first checkpoint:\n%s", res.Code, tail(res.Stderr, 20))
	}
	for _, tc := range []struct{ name, expect string }{
		{"oob", "out of bounds memory access"},
		{"infinite_loop", "did not return within 300ms"},
		{"memory_bomb", "memory limit of 2 MiB reached"},
		{"malformed_result", "magic 0x58585858"},
		{"missing_export", "missing required export sluice_process"},
		{"abi_v2", "plugin ABI version 2.0"},
		{"init_error", "missing required config key"},
		{"big_memory", "is over the memory limit"},
		{"command", "exports _start"},
	} {
		replace(readFile(t, fixture(tc.name)))
		code, body := post(t, "http://"+addr+"/reload?stream=swap&plugin=p", "Bearer "+token)
		if code != 422 || !strings.Contains(body, `"result":"refused"`) || !strings.Contains(body, tc.expect) {
			t.Errorf("swap to %s: %d %s; want 422, refused, %q", tc.name, code, body, tc.expect)
		}
		if p.Exited() {
			res := p.Wait(t)
			t.Fatalf("the stream ended after a refused swap to %s (exit %d):\n%s", tc.name, res.Code, tail(res.Stderr, 20))
		}
	}
	replace(passthrough)
	code, body := post(t, "http://"+addr+"/reload?stream=swap&plugin=p", "Bearer "+token)
	if code != 200 || !strings.Contains(body, `"result":"unchanged"`) {
		t.Errorf("back to the running module: %d %s, want unchanged", code, body)
	}
	p.Signal(t, os.Interrupt)
	if res := p.Wait(t); res.Code != 130 {
		t.Fatalf("SIGINT: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
	res := run(t, dir, env, "run", "-config", mk(0, "rerun.toml"))
	if res.Code != 0 || !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
		t.Fatalf("rerun: exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
	sameOutput(t, "after 9 refused hot swaps", readFile(t, out), want)
}
