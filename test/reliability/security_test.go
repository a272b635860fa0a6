package reliability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/test/reliability/e2e"
)

// The sandbox seen from a plugin, end to end: the modules below try to
// read files, list directories, see the environment (sluice runs with a
// secret in its environment), dial or listen on sockets and use stray
// file descriptors, from inside a real `sluice run`.

// probeSecret is put in sluice's environment; no plugin may see it.
const probeSecret = "SLUICE_PROBE_SECRET=hunter2-do-not-leak"

// TestSandboxWASI runs sandbox_probe.wasm (raw WASI calls over fds 0-15):
// every attempt must be refused, so the stream completes with the clean
// output, and the probe's log line proves it ran.
func TestSandboxWASI(t *testing.T) {
	ensureEvents(t, smallTable, smallRows)
	want := clean(t, smallTable, smallRows, "jsonl", smallPage)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	path := cfg{Streams: []streamCfg{{Name: "probe", Table: smallTable, PageSize: smallPage,
		Plugins: []pluginCfg{{Path: ownFixture("sandbox_probe")}}, Sinks: []sinkCfg{{Format: "jsonl", Path: out}}}}}.Write(t, dir, "sluice.toml")
	res := run(t, dir, []string{probeSecret}, "run", "-config", path)
	if res.Code != 0 {
		t.Fatalf("exit %d (an escape stops the stream with \"sandbox escape: probe PP on fd FF\"):\n%s", res.Code, tail(res.Stderr, 20))
	}
	if !strings.Contains(res.Stderr, "sandbox probe: 14 kinds of escape tried on fds 0-15, all refused") {
		t.Fatalf("the probe's log line is missing: did it run?\n%s", tail(res.Stderr, 20))
	}
	sameOutput(t, "sandbox probe", readFile(t, out), want)
	if _, err := os.Stat(filepath.Join(dir, "sluice-escape")); err == nil {
		t.Fatal("the probe created a directory in sluice's working directory")
	}
}

// TestSandboxGo runs testdata/goprobe, written with the Go SDK and built
// here against the current SDK, which tries the same through Go's standard
// library and reports every attempt on output "probe".
func TestSandboxGo(t *testing.T) {
	ensureEvents(t, smallTable, smallRows)
	probe := filepath.Join(t.TempDir(), "goprobe.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", probe, "./test/reliability/testdata/goprobe")
	build.Dir = e2e.RepoRoot
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the Go probe plugin: %v\n%s", err, out)
	}
	want := clean(t, smallTable, smallRows, "jsonl", smallPage)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	probeOut := filepath.Join(dir, "probe.jsonl")
	_ = os.Remove("/tmp/sluice-sandbox-escape")
	path := cfg{Streams: []streamCfg{{Name: "goprobe", Table: smallTable, PageSize: smallPage,
		Plugins: []pluginCfg{{Path: probe}},
		Sinks: []sinkCfg{{Name: "rows", Format: "jsonl", Path: out},
			{Name: "probe", Format: "jsonl", Path: probeOut, Outputs: []string{"probe"}}}}}}.Write(t, dir, "sluice.toml")
	res := run(t, dir, []string{probeSecret}, "run", "-config", path)
	if res.Code != 0 {
		t.Fatalf("exit %d:\n%s", res.Code, tail(res.Stderr, 20))
	}
	sameOutput(t, "go probe rows", readFile(t, out), want)
	type check struct {
		Check   string `json:"check"`
		Escaped bool   `json:"escaped"`
		Detail  string `json:"detail"`
	}
	var checks []check
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, probeOut)))
	for sc.Scan() {
		var c check
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("probe output: %v: %s", err, sc.Text())
		}
		checks = append(checks, c)
		if c.Escaped {
			t.Errorf("SANDBOX ESCAPE: %s: %s", c.Check, c.Detail)
		} else {
			t.Logf("refused: %-36s %s", c.Check, c.Detail)
		}
	}
	const wantChecks = 5 + 3 + 2 + 3 + 3 + 1 + 7 + 1
	if len(checks) != wantChecks {
		t.Errorf("%d checks reported, want %d", len(checks), wantChecks)
	}
	// The node listens on 127.0.0.1:9042: a refused dial from the plugin
	// proves it has no host network (Go's wasip1 net is an in-memory fake).
	for _, c := range checks {
		if c.Check == "dial tcp 127.0.0.1:9042" && !strings.Contains(c.Detail, "refused") {
			t.Errorf("dial to the node: %s", c.Detail)
		}
	}
	if _, err := os.Stat("/tmp/sluice-sandbox-escape"); err == nil {
		t.Error("the plugin wrote /tmp/sluice-sandbox-escape")
	}
	if strings.Contains(res.Stderr, "hunter2") {
		t.Error("the secret of sluice's environment appears in its output")
	}
}

// freePort returns a free 127.0.0.1 port.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHTTP waits until GET url answers or the process ends.
func waitHTTP(t *testing.T, p *proc, url string) {
	t.Helper()
	for !p.Exited() {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	res := p.Wait(t)
	t.Fatalf("sluice ended (exit %d) before its admin server answered:\n%s", res.Code, tail(res.Stderr, 20))
}

func post(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminAuth: the admin server binds where [admin] listen says; GET
// /metrics is open; POST /reload needs "Authorization: Bearer <token>"
// with the token of the environment variable token_env names, compared in
// constant time; the token never appears in logs or metrics.
func TestAdminAuth(t *testing.T) {
	ensureEvents(t, killTable, killRows)
	const token = "s3cr3t-admin-token-0123456789"
	dir := t.TempDir()
	addr := freePort(t)
	path := cfg{AdminListen: addr, AdminTokenEnv: "SLUICE_TEST_ADMIN_TOKEN",
		Streams: []streamCfg{{Name: "admin", Table: killTable, PageSize: killPage, RatePages: 5,
			Plugins: []pluginCfg{{Name: "pass", Path: fixture("passthrough")}},
			Sinks:   []sinkCfg{{Format: "jsonl", Path: filepath.Join(dir, "out.jsonl")}}}}}.Write(t, dir, "sluice.toml")
	p := start(t, dir, []string{"SLUICE_TEST_ADMIN_TOKEN=" + token}, "run", "-config", path)
	base := "http://" + addr
	waitHTTP(t, p, base+"/healthz")

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(metrics, []byte("sluice_")) {
		t.Errorf("GET /metrics: %d, %d bytes", resp.StatusCode, len(metrics))
	}
	for _, tc := range []struct{ what, auth string }{
		{"no header", ""},
		{"wrong token", "Bearer wrong"},
		{"token prefix", "Bearer " + token[:10]},
		{"token with suffix", "Bearer " + token + "x"},
		{"basic auth", "Basic " + token},
		{"lower-case scheme", "bearer " + token},
		{"raw token", token},
	} {
		if code, body := post(t, base+"/reload", tc.auth); code != http.StatusUnauthorized {
			t.Errorf("POST /reload with %s: %d %s, want 401", tc.what, code, body)
		}
	}
	code, body := post(t, base+"/reload?stream=admin&plugin=pass", "Bearer "+token)
	if code != http.StatusOK || !strings.Contains(body, `"result":"unchanged"`) {
		t.Errorf("POST /reload with the token: %d %s, want 200 and \"unchanged\"", code, body)
	}
	if resp, err := http.Get(base + "/reload"); err == nil {
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /reload: %d, want 405", resp.StatusCode)
		}
		resp.Body.Close()
	}
	p.Signal(t, os.Interrupt)
	res := p.Wait(t)
	if res.Code != 130 {
		t.Errorf("SIGINT: exit %d, want 130", res.Code)
	}
	if strings.Contains(res.Stderr, token) || bytes.Contains(metrics, []byte(token)) {
		t.Error("the admin token appears in sluice's log or metrics")
	}
}

// TestAdminReloadDisabledWithoutToken: without token_env, POST /reload is
// refused whatever the request carries.
func TestAdminReloadDisabledWithoutToken(t *testing.T) {
	ensureEvents(t, killTable, killRows)
	dir := t.TempDir()
	addr := freePort(t)
	path := cfg{AdminListen: addr, Streams: []streamCfg{{Name: "admin", Table: killTable, PageSize: killPage, RatePages: 5,
		Plugins: []pluginCfg{{Name: "pass", Path: fixture("passthrough")}},
		Sinks:   []sinkCfg{{Format: "jsonl", Path: filepath.Join(dir, "out.jsonl")}}}}}.Write(t, dir, "sluice.toml")
	p := start(t, dir, nil, "run", "-config", path)
	waitHTTP(t, p, "http://"+addr+"/healthz")
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		if code, body := post(t, "http://"+addr+"/reload", auth); code != http.StatusUnauthorized {
			t.Errorf("POST /reload (%q) without token_env: %d %s, want 401", auth, code, body)
		}
	}
	p.Signal(t, os.Interrupt)
	if res := p.Wait(t); res.Code != 130 {
		t.Errorf("SIGINT: exit %d, want 130:\n%s", res.Code, tail(res.Stderr, 10))
	}
}

// TestSecretsNeverInFiles: an unset or empty secret variable is refused
// at start naming the variable and the line; the value of a set one never
// appears in sluice's output, even when Cassandra refuses the login.
func TestSecretsNeverInFiles(t *testing.T) {
	dir := t.TempDir()
	base := cfg{Streams: []streamCfg{{Name: "s", Table: smallTable, Sinks: []sinkCfg{{Format: "jsonl", Path: filepath.Join(dir, "o.jsonl")}}}}}
	path := base.Write(t, dir, "sluice.toml")
	b := readFile(t, path)
	b = bytes.Replace(b, []byte("[cassandra]\n"), []byte("[cassandra]\nusername = \"sluice\"\npassword_env = \"SLUICE_TEST_CASSANDRA_PASSWORD\"\n"), 1)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, "cassandra.password_env: environment variable SLUICE_TEST_CASSANDRA_PASSWORD is not set"},
		{[]string{"SLUICE_TEST_CASSANDRA_PASSWORD="}, "cassandra.password_env: environment variable SLUICE_TEST_CASSANDRA_PASSWORD is empty"},
	} {
		for _, cmd := range []string{"run", "check"} {
			res := run(t, dir, tc.env, cmd, "-config", path)
			if res.Code != 2 || !strings.Contains(errorReport(res.Stderr), tc.want) || !strings.Contains(res.Stderr, "sluice.toml:3:") {
				t.Errorf("sluice %s with %v: exit %d, want 2 and %q at line 3:\n%s", cmd, tc.env, res.Code, tc.want, tail(res.Stderr, 5))
			}
		}
	}
	// With a password set: the node here does not authenticate, so the
	// run goes on or fails; either way the password must not be printed.
	const pw = "pw-7f3a9c-never-print-me"
	res := run(t, dir, []string{"SLUICE_TEST_CASSANDRA_PASSWORD=" + pw}, "check", "-config", path)
	if strings.Contains(res.Stdout+res.Stderr, pw) {
		t.Errorf("the password appears in sluice's output:\n%s", res.Stderr)
	}
	t.Logf("check with a password: exit %d: %s", res.Code, firstLine(errorReport(res.Stderr)+res.Stdout))
}

// TestLogForgery: what a plugin prints (stdout, stderr, sluice.log) reaches
// sluice's stderr only inside sluice's own log records, quoted: a plugin
// cannot forge sluice's summary or error lines, nor send terminal escape
// sequences to the operator's terminal.
func TestLogForgery(t *testing.T) {
	ensureEvents(t, smallTable, smallRows)
	want := clean(t, smallTable, smallRows, "jsonl", smallPage)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.jsonl")
			path := cfg{Streams: []streamCfg{{Name: "forge", Table: smallTable, PageSize: smallPage,
				Plugins: []pluginCfg{{Path: ownFixture("forge_log")}}, Sinks: []sinkCfg{{Format: "jsonl", Path: out}}}}}.Write(t, dir, "sluice.toml")
			b := readFile(t, path)
			b = bytes.Replace(b, []byte("[runtime]\n"), []byte("[runtime]\nlog_format = \""+format+"\"\n"), 1)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			res := run(t, dir, nil, "run", "-config", path)
			if res.Code != 0 {
				t.Fatalf("exit %d:\n%s", res.Code, tail(res.Stderr, 20))
			}
			sameOutput(t, "forge_log", readFile(t, out), want)
			if !strings.Contains(res.Stderr, "forged") {
				t.Fatal("the plugin's output does not appear in the log at all: the test proves nothing")
			}
			for i, l := range strings.Split(res.Stderr, "\n") {
				if strings.HasPrefix(l, `sluice: stream "forged"`) || strings.HasPrefix(l, "red") {
					t.Errorf("stderr line %d is the plugin's, not sluice's: %q", i+1, l)
				}
			}
			if format == "text" {
				// Each record names its stream and plugin once: duplicated
				// attributes make logs ambiguous to parse.
				for i, l := range strings.Split(res.Stderr, "\n") {
					if strings.Count(l, " stream=") > 1 || strings.Count(l, " plugin=") > 1 {
						t.Errorf("stderr line %d repeats its attributes: %.200s", i+1, l)
						break
					}
				}
			}
			for _, c := range []byte{0x1b, 0x07} {
				if i := strings.IndexByte(res.Stderr, c); i >= 0 {
					t.Errorf("a raw control byte 0x%02x reached stderr: %q", c, res.Stderr[max(0, i-60):min(len(res.Stderr), i+20)])
				}
			}
		})
	}
}
