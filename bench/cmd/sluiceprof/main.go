// Command sluiceprof runs the streams of a sluice config in process, as
// `sluice run` does, with a CPU profile (and optionally a heap profile)
// written at the end, so that bench/run's cases can be profiled with
// pprof. `sluice run -cpuprofile FILE` profiles a whole run (connecting
// and compiling included); this bench-only tool starts the profile once
// the streams are built, so only the scan is in it. It builds
// the same pieces cmd/sluice builds (gocql session, wazero runtime,
// internal/stream) with the config's settings, minus what a profile does
// not need (admin server, plugin watcher, signals, progress display, TLS
// and authentication).
//
//	go run ./bench/cmd/sluiceprof -config bench/results/full/configs/sluice-dropall.toml -cpuprofile cpu.prof >/dev/null
//	go tool pprof -top cpu.prof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/sluicehq/sluice/internal/cqltype"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/setup"
)

func main() {
	cfgPath := flag.String("config", "", "sluice config")
	cpuProf := flag.String("cpuprofile", "cpu.prof", "CPU profile output")
	memProf := flag.String("memprofile", "", "heap profile output, written at the end (\"\" = none)")
	flag.Parse()
	if *cfgPath == "" {
		fmt.Fprintln(os.Stderr, "sluiceprof: -config is required")
		os.Exit(2)
	}
	if err := run(*cfgPath, *cpuProf, *memProf); err != nil {
		fmt.Fprintln(os.Stderr, "sluiceprof:", err)
		os.Exit(1)
	}
}

func run(cfgPath, cpuProf, memProf string) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	if cfg.Cassandra.TLS.Enabled || cfg.Cassandra.Username != "" {
		return errors.New("TLS and authentication are not supported by this profiling tool")
	}
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Runtime.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	ctx := context.Background()

	c := cfg.Cassandra
	cl := gocql.NewCluster(c.Hosts...)
	cl.Consistency = c.Consistency.Gocql()
	cl.ProtoVersion = c.ProtocolVersion
	cl.ConnectTimeout = c.ConnectTimeout
	cl.Timeout = c.Timeout
	cl.Logger = gocql.NewLogger(gocql.LogLevelNone)
	cl.Keyspace = c.Keyspace
	cl.RegisteredTypes = cqltype.Types() // as sluice run's sessions
	cl.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	sess, err := cl.CreateSession()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer sess.Close()
	rt, err := host.NewRuntime(ctx, host.RuntimeConfig{CacheDir: cfg.Runtime.CacheDir, MemoryLimitPages: cfg.Runtime.MemoryLimit.WasmPages(), Logger: log})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	env := &setup.Env{Config: cfg, Session: sess, Runtime: rt, Metrics: metrics.New(), Logger: log}

	streams, err := setup.Build(ctx, env)
	if err != nil {
		return err
	}
	f, err := os.Create(cpuProf)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	var errs []error
	for _, s := range streams {
		sum, err := s.Run(ctx, nil)
		fmt.Fprintf(os.Stderr, "sluiceprof: stream %q: rows in %d, rows out %d, pages %d, elapsed %s, %.0f rows/s\n",
			sum.Stream, sum.RowsIn, sum.RowsOut, sum.Pages, sum.Elapsed.Round(time.Millisecond), sum.RowsPerSecond())
		errs = append(errs, err)
	}
	pprof.StopCPUProfile()
	if memProf != "" {
		runtime.GC()
		mf, err := os.Create(memProf)
		if err != nil {
			return err
		}
		defer mf.Close()
		if err := pprof.WriteHeapProfile(mf); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}
