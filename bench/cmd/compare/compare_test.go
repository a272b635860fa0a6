package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/config"
)

func TestKeptBelow(t *testing.T) {
	for _, n := range []int64{0, 1, 99, 100, 101, 150, 20_000, 1_000_000, 1_000_057} {
		for _, k := range []int{0, 1, 10, 99, 100} {
			var want int64
			for i := int64(0); i < n; i++ {
				if i%100 < int64(k) {
					want++
				}
			}
			if got := keptBelow(n, k); got != want {
				t.Errorf("keptBelow(%d, %d) = %d, want %d", n, k, got, want)
			}
		}
	}
}

func TestThousands(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {123456, "123,456"}, {1234567, "1,234,567"}, {-1234, "-1,234"},
	} {
		if got := thousands(tc.n); got != tc.want {
			t.Errorf("thousands(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %g, want %g", tc.xs, got, tc.want)
		}
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "B.md")
	read := func() string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// New file: only the generated part.
	if err := writeReport(p, "one\n"); err != nil {
		t.Fatal(err)
	}
	if want := beginMarker + "\none\n" + endMarker + "\n"; read() != want {
		t.Fatalf("new file:\n%s\nwant:\n%s", read(), want)
	}
	// Text around the markers survives a rewrite.
	if err := os.WriteFile(p, []byte("# Title\n\nintro\n\n"+read()+"\n## Analysis\n\nkept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(p, "two\n"); err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\nintro\n\n" + beginMarker + "\ntwo\n" + endMarker + "\n\n## Analysis\n\nkept\n"
	if read() != want {
		t.Fatalf("rewrite:\n%s\nwant:\n%s", read(), want)
	}
	// A file without markers keeps its text; the results are appended.
	if err := os.WriteFile(p, []byte("hand-written\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(p, "three\n"); err != nil {
		t.Fatal(err)
	}
	if got := read(); !strings.HasPrefix(got, "hand-written\n\n"+beginMarker) || !strings.Contains(got, "three\n"+endMarker) {
		t.Fatalf("append:\n%s", got)
	}
}

// The generated configs must pass sluice's own strict config loader.
func TestSluiceConfigValid(t *testing.T) {
	o := Options{Root: "/repo", Host: "127.0.0.1:9042"}
	for _, sc := range []streamCfg{
		{Table: "wide", Plugin: "/repo/bench/wasm/dropall.wasm", Concurrency: 1, PageSize: 5000, LogLevel: "warn"},
		{Table: "wide", Plugin: "/repo/f.wasm", Concurrency: 4, PageSize: 5000, LogLevel: "info", RateLimit: 40,
			PluginCfg: map[string]string{"column": "bucket", "op": "<", "value": "1"}},
	} {
		text := sluiceConfig(o, sc)
		cfg, err := config.Parse("bench.toml", []byte(text))
		if err != nil {
			t.Fatalf("config rejected: %v\n%s", err, text)
		}
		st := cfg.Streams[0]
		if st.Source.Table != sc.Table || st.Source.Concurrency != sc.Concurrency || st.Source.RateLimitPages != sc.RateLimit ||
			st.Plugins[0].Path != sc.Plugin || cfg.Checkpoint.Store != "none" || cfg.Runtime.LogLevel != sc.LogLevel {
			t.Errorf("config does not say what was asked:\n%s", text)
		}
		for k, v := range sc.PluginCfg {
			if st.Plugins[0].Config[k] != v {
				t.Errorf("plugin config %s = %v, want %q", k, st.Plugins[0].Config[k], v)
			}
		}
	}
}
