// Command followlag measures follow mode's delivery lag: the time from an
// event's INSERT being acknowledged to its row appearing in the stream's
// file sink, at several write rates, against the local node.
//
//	go build -o /tmp/sluice ./cmd/sluice
//	go run ./bench/cmd/followlag -sluice /tmp/sluice -rates 1000,10000,50000 -seconds 20
//
// For each rate it recreates sluice_bench.follow_lag (10 s epoch buckets,
// 4 shards, clustered by ts), starts `sluice run` on a follow stream of it
// (poll interval -interval, checkpoint -checkpoint, which is also when the
// file sink flushes), writes events at the rate from -writers goroutines
// for -seconds, and tails the sink file every 5 ms: an event's lag is the
// time its line was first seen minus the time its INSERT returned (the
// tail's 5 ms step included). It prints the achieved write rate, p50, p99
// and max lag per rate, and how many events were seen (all, or the run
// fails). A rate the writer cannot reach on the machine is reported as
// achieved, not as asked.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"golang.org/x/time/rate"
)

func main() {
	bin := flag.String("sluice", "bin/sluice", "sluice binary")
	host := flag.String("host", "127.0.0.1:9042", "Cassandra node")
	rates := flag.String("rates", "1000,10000,50000", "events per second, comma-separated")
	seconds := flag.Int("seconds", 20, "seconds of writing per rate")
	writers := flag.Int("writers", 64, "writer goroutines")
	interval := flag.Duration("interval", 200*time.Millisecond, "follow poll interval")
	checkpoint := flag.Duration("checkpoint", 200*time.Millisecond, "checkpoint interval (the file sink flushes then)")
	lateness := flag.Duration("lateness", 5*time.Second, "follow lateness")
	flag.Parse()

	cluster := gocql.NewCluster(*host)
	cluster.Consistency = gocql.One
	cluster.NumConns = 4
	s, err := cluster.CreateSession()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	exec1 := func(q string) {
		if err := s.Query(q).Exec(); err != nil {
			log.Fatalf("%s: %v", q, err)
		}
	}
	exec1("CREATE KEYSPACE IF NOT EXISTS sluice_bench WITH replication = {'class':'SimpleStrategy','replication_factor':1}")
	fmt.Printf("| events/s asked | achieved | events | p50 lag | p99 lag | max lag |\n|---|---|---|---|---|---|\n")
	for _, rs := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil {
			log.Fatal(err)
		}
		exec1("DROP TABLE IF EXISTS sluice_bench.follow_lag")
		exec1("CREATE TABLE sluice_bench.follow_lag (bucket bigint, shard int, ts timestamp, id int, payload text, PRIMARY KEY ((bucket, shard), ts, id))")
		res, err := measure(s, *bin, *host, r, *seconds, *writers, *interval, *checkpoint, *lateness)
		if err != nil {
			log.Fatalf("rate %v: %v", r, err)
		}
		fmt.Printf("| %.0f | %.0f | %d | %s | %s | %s |\n", r, res.achieved, res.n, res.p50, res.p99, res.max)
	}
}

type result struct {
	achieved      float64
	n             int
	p50, p99, max time.Duration
}

func measure(s *gocql.Session, bin, host string, perSecond float64, seconds, writers int, interval, cpEvery, lateness time.Duration) (result, error) {
	dir, err := os.MkdirTemp("", "followlag-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "rows.jsonl")
	cfg := fmt.Sprintf(`[cassandra]
hosts = [%q]
keyspace = "sluice_bench"
consistency = "ONE"
[runtime]
progress = "off"
cache_dir = %q
[checkpoint]
dir = %q
interval = %q
[[stream]]
name = "lag"
  [stream.source]
  mode = "follow"
  table = "follow_lag"
  page_size = 5000
  prefetch = 2
    [stream.source.follow]
    time_column = "ts"
    bucket_columns = ["bucket"]
    bucket_formats = ["epoch"]
    bucket_width = "10s"
    shard_column = "shard"
    shards = 4
    start = "-1s"
    lateness = %q
    interval = %q
    flush = "never"
  [[stream.sink]]
  type = "file"
  path = %q
`, host, filepath.Join(dir, "cache"), filepath.Join(dir, "cp"), cpEvery, lateness, interval, out)
	path := filepath.Join(dir, "sluice.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return result{}, err
	}
	cmd := exec.Command(bin, "run", "-config", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	time.Sleep(2 * time.Second) // the stream starts and polls the empty table

	n := int(perSecond * float64(seconds))
	written := make([]int64, n) // unix ns the INSERT returned
	seen := make([]int64, n)
	var got atomic.Int64
	stopTail := make(chan struct{})
	tailDone := make(chan error, 1)
	go func() { tailDone <- tail(out, seen, &got, stopTail) }()

	lim := rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond/100)))
	var next atomic.Int64
	var werr atomic.Value
	var wg sync.WaitGroup
	t0 := time.Now()
	ctx := context.Background()
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || lim.Wait(ctx) != nil {
					return
				}
				e := time.Now().Truncate(time.Millisecond)
				if err := s.Query("INSERT INTO sluice_bench.follow_lag (bucket, shard, ts, id, payload) VALUES (?, ?, ?, ?, ?)",
					e.Unix()/10, i%4, e, i, "p").Exec(); err != nil {
					werr.CompareAndSwap(nil, err)
					return
				}
				written[i] = time.Now().UnixNano()
			}
		}()
	}
	wg.Wait()
	achieved := float64(n) / time.Since(t0).Seconds()
	if e, _ := werr.Load().(error); e != nil {
		return result{}, e
	}
	deadline := time.Now().Add(lateness + 30*time.Second)
	for got.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stopTail)
	if err := <-tailDone; err != nil {
		return result{}, err
	}
	if g := got.Load(); g != int64(n) {
		return result{}, fmt.Errorf("%d of %d events reached the sink:\n%s", g, n, stderr.String())
	}
	lags := make([]time.Duration, n)
	for i := range lags {
		lags[i] = time.Duration(max(0, seen[i]-written[i]))
	}
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[min(n-1, int(p*float64(n)))].Round(time.Millisecond) }
	return result{achieved: achieved, n: n, p50: q(0.50), p99: q(0.99), max: lags[n-1].Round(time.Millisecond)}, nil
}

// tail reads the sink file as it grows, every 5 ms, and records when each
// id first appears.
func tail(path string, seen []int64, got *atomic.Int64, stop <-chan struct{}) error {
	var off int64
	var partial []byte
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return err
		}
		if _, err := f.Seek(off, 0); err != nil {
			f.Close()
			return err
		}
		now := time.Now().UnixNano()
		r := bufio.NewReaderSize(f, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			off += int64(len(line))
			if err != nil {
				partial = append(partial, line...)
				break
			}
			if len(partial) > 0 {
				line = append(partial, line...)
				partial = nil
			}
			var row struct {
				ID int `json:"id"`
			}
			if json.Unmarshal(line, &row) == nil && row.ID >= 0 && row.ID < len(seen) && seen[row.ID] == 0 {
				seen[row.ID] = now
				got.Add(1)
			}
		}
		f.Close()
	}
}
