package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
)

// table creates ks.t with n rows (id int, v text) for the CLI tests.
func table(t *testing.T, n int) string {
	t.Helper()
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".t")
	testutil.Exec(t, s, "CREATE TABLE "+ks+".t (id int PRIMARY KEY, v text)")
	b := s.Batch(0) // unlogged batches of one partition each are fine for test data
	for i := 0; i < n; i++ {
		b.Query("INSERT INTO "+ks+".t (id, v) VALUES (?, ?)", i, fmt.Sprintf("v%d", i))
		if b.Size() == 50 || i == n-1 {
			if err := b.Exec(); err != nil {
				t.Fatal(err)
			}
			b = s.Batch(0)
		}
	}
	return ks
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeConfig(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunAdminMetricsAndReload runs `sluice run` with the admin server, scrapes
// /metrics while the stream runs, and checks /reload's bearer token.
func TestRunAdminMetricsAndReload(t *testing.T) {
	ks := table(t, 2000)
	dir := t.TempDir()
	addr := freePort(t)
	t.Setenv("TEST_SLUICE_TOKEN", "s3cret")
	plugin, _ := filepath.Abs("../../plugins/examples/filter/c/filter.wasm")
	cfg := writeConfig(t, filepath.Join(dir, "c.toml"), fmt.Sprintf(`
[runtime]
cache_dir = ""
progress = "off"
[admin]
listen = %q
token_env = "TEST_SLUICE_TOKEN"
[checkpoint]
store = "none"
[[stream]]
name = "adm"
  [stream.source]
  keyspace = %q
  table = "t"
  page_size = 100
  rate_limit_pages = 10
  [[stream.plugin]]
  name = "f"
  path = %q
    [stream.plugin.config]
    column = "id"
    op = "<"
    value = "500"
  [[stream.sink]]
  type = "file"
  path = %q
`, addr, ks, plugin, filepath.Join(dir, "out.jsonl")))
	var stdout, stderr bytes.Buffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"run", "-config", cfg}, &stdout, &stderr) }()

	var metrics string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metrics = string(b)
			if strings.Contains(metrics, `sluice_rows_read_total{stream="adm"}`) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{`sluice_rows_read_total{stream="adm"}`, `sluice_active_streams 1`, `sluice_page_fetch_seconds_bucket{stream="adm"`, `go_goroutines`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	post := func(token string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/reload?stream=adm&plugin=f", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, _ := post(""); c != http.StatusUnauthorized {
		t.Errorf("reload without a token: status %d, want 401", c)
	}
	if c, _ := post("wrong"); c != http.StatusUnauthorized {
		t.Errorf("reload with a wrong token: status %d, want 401", c)
	}
	c, body := post("s3cret")
	var res []map[string]string
	_ = json.Unmarshal([]byte(body), &res)
	if c != http.StatusOK || len(res) != 1 || res[0]["result"] != "unchanged" {
		t.Errorf("reload with the token: %d %s, want 200 and result unchanged", c, body)
	}
	select {
	case got := <-code:
		if got != exitOK {
			t.Fatalf("exit %d, stderr:\n%s", got, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("run did not finish")
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out.jsonl"))
	if n := bytes.Count(out, []byte("\n")); n != 500 {
		t.Errorf("%d rows in the file sink, want 500", n)
	}
	if !strings.Contains(stderr.String(), `stream "adm": rows in 2000, rows out 500`) {
		t.Errorf("summary missing from stderr:\n%s", stderr.String())
	}
}

// TestExitCodes checks the documented exit codes of usage and config errors.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := writeConfig(t, filepath.Join(dir, "bad.toml"), "[[stream]]\nname = \"x\"\nbogus = 1\n")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Usage:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"run", "-nope"}, exitUsage, "flag provided but not defined"},
		{[]string{"run", "-config", filepath.Join(dir, "missing.toml")}, exitUsage, "missing.toml"},
		{[]string{"run", "-config", bad}, exitUsage, "bad.toml:3"},
		{[]string{"check", "-config", bad}, exitUsage, "bogus"},
		{[]string{"run", "-help"}, exitOK, "Usage: sluice run"},
		{[]string{"version"}, exitOK, "plugin ABI 1.0"},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		got := run(tc.args, &out, &errb)
		if got != tc.code {
			t.Errorf("sluice %v: exit %d, want %d (stderr: %s)", tc.args, got, tc.code, errb.String())
		}
		if !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("sluice %v: output lacks %q:\n%s%s", tc.args, tc.want, out.String(), errb.String())
		}
	}
}

// TestCheck validates the repository's own config.toml against the real
// node and the committed plugins.
func TestCheck(t *testing.T) {
	s := testutil.Session(t)
	schema, err := os.ReadFile("../../examples/demo/schema.cql")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range strings.Split(string(schema), ";") {
		var keep []string
		for _, line := range strings.Split(st, "\n") {
			if i := strings.Index(line, "--"); i >= 0 {
				line = line[:i]
			}
			keep = append(keep, line)
		}
		if st = strings.TrimSpace(strings.Join(keep, "\n")); st != "" {
			testutil.Exec(t, s, st)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"check", "-config", "../../config.toml"}, &out, &errb); code != exitOK {
		t.Fatalf("sluice check config.toml: exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "ok: 1 streams, 1 plugins") {
		t.Errorf("check output: %s", out.String())
	}
}
