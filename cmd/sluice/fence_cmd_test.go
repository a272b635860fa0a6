package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/pager"
)

// check refuses what run refuses about shards and the fence: an "auto"
// shard without a valid JOB_COMPLETION_INDEX, and (lease_wait = 0) a
// shard whose lease another process holds. Once the lease is released,
// both accept; check never takes the lease itself.
func TestCheckAndRunAgreeOnShardsAndFence(t *testing.T) {
	ks := checkTable(t)
	s := testutil.Session(t)
	dir := t.TempDir()
	const stream = "fenced"
	cfg := filepath.Join(dir, "sluice.toml")
	body := fmt.Sprintf(`[cassandra]
hosts = [%q]
consistency = "ONE"
[runtime]
cache_dir = ""
progress = "off"
[checkpoint]
store = "cassandra"
keyspace = %q
every_pages = 1
lease_ttl = "5s"
lease_wait = "0s"
[[stream]]
name = %q
shard = "auto/2"
  [stream.source]
  keyspace = %q
  table = "users"
  splits = 4
  [[stream.sink]]
  type = "file"
  format = "jsonl"
  path = "out/{shard}.jsonl"
`, testutil.Host(), ks, stream, ks)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	both := func(wantCode int, want string) {
		t.Helper()
		for _, cmd := range []string{"run", "check"} {
			var out, errb bytes.Buffer
			code := run([]string{cmd, "-config", cfg}, &out, &errb)
			if code != wantCode || !strings.Contains(errb.String()+out.String(), want) {
				t.Fatalf("%s: exit %d, want %d with %q:\n%s%s", cmd, code, wantCode, want, out.String(), errb.String())
			}
		}
	}
	t.Setenv("JOB_COMPLETION_INDEX", "")
	both(2, `shard "auto/2" takes its index from JOB_COMPLETION_INDEX, which is not set`)
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	both(2, "JOB_COMPLETION_INDEX=2 is outside 0..1")
	t.Setenv("JOB_COMPLETION_INDEX", "1")

	leases, err := pager.NewCassandraLeases(ctx, s, ks, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	name := pager.LeaseName(stream, pager.Shard{Index: 1, Count: 2})
	_ = leases.DeleteLease(ctx, name)
	other, err := pager.AcquireLease(ctx, leases, name, pager.LeaseOptions{TTL: 5 * time.Second, Holder: "pod-other"})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"run", "-config", cfg}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `is held by "pod-other"`) {
		t.Fatalf("run: exit %d:\n%s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "1-of-2.jsonl")); err == nil {
		t.Fatal("a run refused the lease opened its sink file")
	}
	both(2, `is held by "pod-other"`)
	if err := other.Close(ctx); err != nil {
		t.Fatal(err)
	}
	both(0, "")
	b, err := os.ReadFile(filepath.Join(dir, "out", "1-of-2.jsonl"))
	if err != nil || bytes.Count(b, []byte("\n")) == 0 {
		t.Fatalf("shard 1/2 wrote %d bytes: %v", len(b), err)
	}
	// run released its lease at the end: the table has no holder left.
	if st, err := leases.Holder(ctx, name); err != nil || st.Holder != "" {
		t.Fatalf("after run: holder %q, %v", st.Holder, err)
	}
}

// A run waiting for a lease another process holds stops at SIGTERM (exit
// 130) instead of waiting out lease_wait.
func TestRunWaitingForLeaseStopsOnSignal(t *testing.T) {
	ks := checkTable(t)
	s := testutil.Session(t)
	dir := t.TempDir()
	const stream = "fenced_wait"
	cfg := filepath.Join(dir, "sluice.toml")
	body := fmt.Sprintf(`[cassandra]
hosts = [%q]
consistency = "ONE"
[runtime]
cache_dir = ""
progress = "off"
[checkpoint]
store = "cassandra"
keyspace = %q
every_pages = 1
lease_ttl = "30s"
lease_wait = "5m"
[[stream]]
name = %q
  [stream.source]
  keyspace = %q
  table = "users"
  [[stream.sink]]
  type = "file"
  format = "jsonl"
  path = "out.jsonl"
`, testutil.Host(), ks, stream, ks)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	leases, err := pager.NewCassandraLeases(ctx, s, ks, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	name := pager.LeaseName(stream, pager.Shard{})
	_ = leases.DeleteLease(ctx, name)
	other, err := pager.AcquireLease(ctx, leases, name, pager.LeaseOptions{TTL: 30 * time.Second, Holder: "pod-other"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	bin := filepath.Join(t.TempDir(), "sluice")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "run", "-config", cfg)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // well into its wait for pod-other's lease
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != 130 || time.Since(start) > 10*time.Second || !strings.Contains(errb.String(), "interrupted by terminated while starting") {
		t.Fatalf("exit %d after %s (%v):\n%s", code, time.Since(start), err, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "out.jsonl")); err == nil {
		t.Fatal("the interrupted run opened its sink file")
	}
}
