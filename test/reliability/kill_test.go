package reliability

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/pager"
)

// SIGKILL and SIGTERM mid-stream. The file sink is exactly-once across
// restarts: a rerun truncates the file to the offset saved with the last
// checkpoint and goes on from there, so the final file is byte-identical
// to an uninterrupted run's, in JSONL and in CSV.

const (
	killTable = "events_50k"
	killRows  = 50_000
	killPage  = 1000 // ~200 KB of JSON per page
	killPages = killRows / killPage
)

// killMode says when, after the checkpoint reached the kill point, the
// process is killed.
type killMode int

const (
	// atCheckpoint kills as soon as the checkpoint is seen.
	atCheckpoint killMode = iota
	// midInterval kills after a random part of a checkpoint interval.
	midInterval
	// tornTail kills once the file holds more than the checkpoint's offset
	// (rows written after the checkpoint): the rerun must cut them off.
	tornTail
)

func (m killMode) String() string {
	return [...]string{"at checkpoint", "mid interval", "torn tail"}[m]
}

type killPoint struct {
	pages uint64 // kill once the checkpoint has at least this many pages
	mode  killMode
}

// sinkOffset returns the file sink's offset saved in stream's checkpoint.
func sinkOffset(dir, stream string) (int64, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "checkpoints", stream+".checkpoint.json"))
	if err != nil {
		return 0, false
	}
	var cp pager.Checkpoint
	if json.Unmarshal(b, &cp) != nil {
		return 0, false
	}
	off := cp.Extra["sink/file"]
	if len(off) != 10 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(off[2:])), true
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// TestKillAndResume SIGKILLs sluice at several points of one table scan,
// restarting it from its checkpoint after each kill, in JSONL and CSV.
func TestKillAndResume(t *testing.T) {
	ensureEvents(t, killTable, killRows)
	// Checkpoints come every 10 pages (about 2 MB of JSON, so more than
	// the sink's 1 MiB buffer is on disk before the next one); the last
	// one before the end is at page 40. Point 0 kills before any checkpoint.
	points := []killPoint{{0, midInterval}, {10, tornTail}, {20, atCheckpoint}, {30, midInterval}, {40, tornTail}}
	if long() {
		points = []killPoint{{0, atCheckpoint}, {0, midInterval}}
		for k := uint64(10); k <= 40; k += 10 {
			points = append(points, killPoint{k, atCheckpoint}, killPoint{k, midInterval}, killPoint{k, tornTail})
		}
	}
	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			want := clean(t, killTable, killRows, format, killPage)
			dir := t.TempDir()
			out := filepath.Join(dir, "out."+format)
			path := cfg{EveryPages: 10, Streams: []streamCfg{{Name: "kill", Table: killTable, PageSize: killPage,
				RatePages: 25, Sinks: []sinkCfg{{Format: format, Path: out}}}}}.Write(t, dir, "sluice.toml")
			var kills, torn int
			for i, kp := range points {
				p := start(t, dir, nil, "run", "-config", path)
				if !waitCheckpoint(p, dir, "kill", kp.pages) {
					res := p.Wait(t)
					t.Fatalf("kill point %d: the run ended (exit %d) before its checkpoint reached %d pages:\n%s", i, res.Code, kp.pages, tail(res.Stderr, 20))
				}
				switch kp.mode {
				case midInterval:
					time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond) // one interval is 10 pages at 25 pages/s
				case tornTail:
					for !p.Exited() {
						off, ok := sinkOffset(dir, "kill")
						if ok && fileSize(out) > off {
							break
						}
						time.Sleep(time.Millisecond)
					}
				}
				off, _ := sinkOffset(dir, "kill")
				size := fileSize(out)
				if p.Exited() {
					res := p.Wait(t)
					t.Fatalf("kill point %d (%d pages, %s): the run ended (exit %d) before the kill:\n%s", i, kp.pages, kp.mode, res.Code, tail(res.Stderr, 10))
				}
				p.Signal(t, syscall.SIGKILL)
				res := p.Wait(t)
				if res.Signal != "killed" {
					t.Fatalf("kill point %d: the run was not killed (exit %d, %s): it ended first:\n%s", i, res.Code, res.Signal, tail(res.Stderr, 10))
				}
				kills++
				if size > off {
					torn++
				}
				t.Logf("SIGKILL %d (%s) at checkpoint %d pages: file %d bytes, checkpoint offset %d", i+1, kp.mode, checkpointPages(dir, "kill"), size, off)
			}
			res := run(t, dir, nil, "run", "-config", path)
			if res.Code != 0 || !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
				t.Fatalf("final run: exit %d, want 0 and a resume:\n%s", res.Code, tail(res.Stderr, 20))
			}
			got := readFile(t, out)
			sameOutput(t, fmt.Sprintf("%s after %d SIGKILLs", format, kills), got, want)
			t.Logf("%d SIGKILLs (%d with rows written after the checkpoint), output identical (sha %s)", kills, torn, sum(got))
			if torn == 0 {
				t.Errorf("no kill hit a file longer than its checkpoint: the truncation on resume was not exercised")
			}
		})
	}
}

// TestTermAndResume: SIGTERM stops gracefully (exit 130, a message that
// says how to resume); a rerun resumes and the output equals an
// uninterrupted run's.
func TestTermAndResume(t *testing.T) {
	ensureEvents(t, killTable, killRows)
	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			want := clean(t, killTable, killRows, format, killPage)
			dir := t.TempDir()
			out := filepath.Join(dir, "out."+format)
			path := cfg{EveryPages: 10, Streams: []streamCfg{{Name: "term", Table: killTable, PageSize: killPage,
				RatePages: 25, Sinks: []sinkCfg{{Format: format, Path: out}}}}}.Write(t, dir, "sluice.toml")
			p := start(t, dir, nil, "run", "-config", path)
			if !waitCheckpoint(p, dir, "term", 10) {
				res := p.Wait(t)
				t.Fatalf("the run ended (exit %d) before a checkpoint of 10 pages:\n%s", res.Code, tail(res.Stderr, 20))
			}
			time.Sleep(150 * time.Millisecond) // between two checkpoints
			p.Signal(t, syscall.SIGTERM)
			res := p.Wait(t)
			if res.Code != 130 {
				t.Fatalf("SIGTERM: exit %d, want 130:\n%s", res.Code, tail(res.Stderr, 20))
			}
			rep := errorReport(res.Stderr)
			for _, s := range []string{"interrupted; checkpoints written. To resume:", `stream "term"`, "rerun the same command"} {
				if !strings.Contains(rep, s) {
					t.Errorf("the last message lacks %q:\n%s", s, rep)
				}
			}
			// A graceful stop checkpoints what it wrote: the file ends
			// exactly at the checkpoint's offset.
			off, ok := sinkOffset(dir, "term")
			if !ok || off != fileSize(out) {
				t.Errorf("after SIGTERM the file has %d bytes, the checkpoint says %d", fileSize(out), off)
			}
			stopped := checkpointPages(dir, "term")
			res = run(t, dir, nil, "run", "-config", path)
			if res.Code != 0 || !strings.Contains(res.Stderr, "(resumed from checkpoint)") {
				t.Fatalf("rerun: exit %d, want 0 and a resume:\n%s", res.Code, tail(res.Stderr, 20))
			}
			sameOutput(t, format+" after SIGTERM and resume", readFile(t, out), want)
			t.Logf("SIGTERM at %d pages; %s", stopped, firstLine(rep))
		})
	}
}
