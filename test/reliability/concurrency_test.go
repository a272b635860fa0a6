package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/setup"
	"github.com/sluicehq/sluice/internal/stream"
)

// 50 streams in one process (internal/stream, in-process, under the race
// detector when the suite runs with -race), each through the counter
// plugin, hot-swapped between counter.wasm and counter_v2.wasm (its "new
// version", whose restore adds the saved count) every 100 ms, round robin
// over the streams. Halfway, every stream is stopped gracefully (as by
// SIGTERM); new streams resume them from their checkpoints (which carry the
// plugin state) while the swaps go on. In the end each output holds every
// row of its table exactly once plus one flush row whose count is the
// table's row count: the state survived every swap and the resume. After
// each phase no goroutine is left behind (goleak). A stream reads 20 pages
// at 4 pages a second: about 5 s of swapping in all.

const (
	concStreams = 50
	concTables  = 5
	concRows    = 600
	concPage    = 30 // 20 pages per stream
)

// goleakOpts ignores the goroutines of the test binary's shared gocql
// session, which lives as long as the process.
func goleakOpts() []goleak.Option {
	const g = "github.com/apache/cassandra-gocql-driver/v2."
	return []goleak.Option{
		goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction(g + "(*Conn).serve"),
		goleak.IgnoreAnyFunction(g + "(*Conn).heartBeat"),
		goleak.IgnoreAnyFunction(g + "(*Session).reconnectDownedHosts"),
		goleak.IgnoreAnyFunction(g + "(*controlConn).heartBeat"),
		goleak.IgnoreAnyFunction(g + "(*eventDebouncer).flusher"),
		goleak.IgnoreAnyFunction(g + "(*refreshDebouncer).flusher"),
		goleak.IgnoreAnyFunction(g + "(*writeCoalescer).writeFlusher"),
	}
}

// swapper starts a hot swap of the counter plugin of one stream every
// period, round robin over the running streams, without waiting for the
// previous one to finish (at most 8 in flight), until stop closes. It
// counts the outcomes.
type swapper struct {
	mu                        sync.Mutex
	swapped, unchanged, other int
	errs                      []error
	n                         int // swaps started, over every phase
	env                       *setup.Env
}

func (sw *swapper) run(ctx context.Context, streams []*stream.Stream, running []atomic.Bool, cfgs []config.Stream, period time.Duration, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	tick := time.NewTicker(period)
	defer tick.Stop()
	slots := make(chan struct{}, 8)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		sw.mu.Lock()
		i := sw.n
		sw.n++
		sw.mu.Unlock()
		k := -1
		for j := range streams {
			if c := (i + j) % len(streams); running[c].Load() {
				k = c
				break
			}
		}
		if k < 0 {
			continue
		}
		p := cfgs[k].Plugins[0]
		if i/len(streams)%2 == 0 {
			p.Path = fixture("counter_v2")
		} else {
			p.Path = fixture("counter")
		}
		select {
		case slots <- struct{}{}:
		case <-stop:
			return
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			defer func() { <-slots }()
			err := setup.Reload(ctx, sw.env, streams[k], p)
			sw.mu.Lock()
			defer sw.mu.Unlock()
			switch {
			case err == nil:
				sw.swapped++
			case errors.Is(err, stream.ErrUnchanged):
				sw.unchanged++
			case errors.Is(err, stream.ErrNotRunning), errors.Is(err, context.Canceled):
				sw.other++ // the stream finished or stopped meanwhile
			default:
				sw.errs = append(sw.errs, fmt.Errorf("stream %s: %w", streams[k].Name(), err))
			}
		}()
	}
}

func TestConcurrentStreamsWithHotSwaps(t *testing.T) {
	for i := range concTables {
		ensureEvents(t, fmt.Sprintf("conc_%d", i), concRows)
	}
	session(t)
	defer goleak.VerifyNone(t, goleakOpts()...)

	dir := t.TempDir()
	rate := 4.0
	if long() {
		rate = 1 // 20 s of swapping
	}
	var streams []streamCfg
	for i := range concStreams {
		streams = append(streams, streamCfg{Name: fmt.Sprintf("s%02d", i), Table: fmt.Sprintf("conc_%d", i%concTables),
			PageSize: concPage, RatePages: rate,
			Plugins: []pluginCfg{{Name: "counter", Path: fixture("counter")}},
			Sinks:   []sinkCfg{{Format: "jsonl", Path: filepath.Join(dir, fmt.Sprintf("s%02d.jsonl", i))}}})
	}
	path := cfg{EveryPages: 2, Streams: streams}.Write(t, dir, "sluice.toml")
	conf, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	rt, err := host.NewRuntime(ctx, host.RuntimeConfig{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	env := &setup.Env{Config: conf, Session: session(t), Runtime: rt, Metrics: metrics.New(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	sw := &swapper{env: env}
	runPhase := func(phase string, stopAfter time.Duration) (stoppedN, completeN int) {
		ss := make([]*stream.Stream, len(conf.Streams))
		for i, sc := range conf.Streams {
			s, err := setup.New(ctx, env, i, sc)
			if err != nil {
				for _, o := range ss[:i] {
					o.Close(ctx)
				}
				t.Fatalf("%s: stream %s: %v", phase, sc.Name, err)
			}
			ss[i] = s
		}
		stop := make(chan struct{})
		sums := make([]stream.Summary, len(ss))
		errs := make([]error, len(ss))
		running := make([]atomic.Bool, len(ss))
		var wg sync.WaitGroup
		for i, s := range ss {
			wg.Add(1)
			running[i].Store(true)
			go func() {
				defer wg.Done()
				sums[i], errs[i] = s.Run(ctx, stop)
				running[i].Store(false)
			}()
		}
		swapStop := make(chan struct{})
		var swg sync.WaitGroup
		swg.Add(1)
		go sw.run(ctx, ss, running, conf.Streams, 100*time.Millisecond, swapStop, &swg)
		if stopAfter > 0 {
			time.Sleep(stopAfter)
			close(stop)
		}
		wg.Wait()
		close(swapStop)
		swg.Wait()
		for i, err := range errs {
			switch {
			case err == nil && sums[i].Complete:
				completeN++
			case stream.IsStopped(err):
				stoppedN++
			default:
				t.Errorf("%s: stream %s: complete %v, err %v", phase, ss[i].Name(), sums[i].Complete, err)
			}
		}
		return stoppedN, completeN
	}

	// Phase 1: stop everything gracefully after about half the scan.
	stopped1, done1 := runPhase("phase 1", time.Duration(float64(10*time.Second)/rate))
	if err := goleak.Find(goleakOpts()...); err != nil {
		// Streams are done; their goroutines must be too (the runtime
		// and the session stay).
		t.Errorf("goroutines left after phase 1: %v", err)
	}
	// Phase 2: resume every stream from its checkpoint and run to the end.
	stopped2, done2 := runPhase("phase 2", 0)
	t.Logf("phase 1: %d stopped, %d complete; phase 2: %d stopped, %d complete", stopped1, done1, stopped2, done2)
	if stopped1 == 0 {
		t.Errorf("phase 1 stopped no stream: the resume was not exercised")
	}
	if done1+done2 != concStreams || stopped2 != 0 {
		t.Errorf("%d streams completed, want %d", done1+done2, concStreams)
	}

	sw.mu.Lock()
	t.Logf("hot swaps: %d started, %d swapped, %d unchanged, %d on finished streams, %d refused", sw.n, sw.swapped, sw.unchanged, sw.other, len(sw.errs))
	for _, err := range sw.errs {
		t.Errorf("swap refused: %v", err)
	}
	if sw.swapped < 10 {
		t.Errorf("only %d swaps happened", sw.swapped)
	}
	sw.mu.Unlock()

	// Every output: each row of its table once, and a final count of them.
	for i := range concStreams {
		b := readFile(t, filepath.Join(dir, fmt.Sprintf("s%02d.jsonl", i)))
		var ids []int
		var counts []int64
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var row map[string]json.Number
			d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			d.UseNumber()
			var raw map[string]any
			if err := d.Decode(&raw); err != nil {
				t.Fatalf("s%02d: %v", i, err)
			}
			row = map[string]json.Number{}
			for k, v := range raw {
				if n, ok := v.(json.Number); ok {
					row[k] = n
				}
			}
			if id, ok := row["id"]; ok {
				n, _ := id.Int64()
				ids = append(ids, int(n))
				continue
			}
			for _, k := range []string{"count", "count_v2"} {
				if c, ok := row[k]; ok {
					n, _ := c.Int64()
					counts = append(counts, n)
				}
			}
		}
		checkIDs(t, ids, concRows)
		if len(counts) != 1 || counts[0] != concRows {
			t.Errorf("s%02d: flush counts %v, want one count of %d (plugin state lost across swaps or the resume)", i, counts, concRows)
		}
	}
}
