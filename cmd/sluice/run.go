package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/cqltype"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/setup"
	"github.com/sluicehq/sluice/internal/stream"
)

// runOptions are the flags of `sluice run` that override the config.
type runOptions struct {
	config   string
	shard    string
	progress string
	logLevel string
	cpuprof  string
	skipDone bool
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "sluice run -config FILE [flags]",
		`Stream every [[stream]] of the config: page the source table out of Cassandra,
run each page through the stream's plugin chain, write the output to its sinks.

A run resumes from the stream's checkpoint when one exists. SIGINT or SIGTERM
stops gracefully (the page in flight is finished, sinks are flushed, the
checkpoint is written, exit code 130); a second signal aborts at once.
SIGHUP re-reads the config and hot-swaps every plugin whose module or config
changed; replacing a plugin's .wasm file does the same for that plugin.`, stderr)
	var o runOptions
	fs.StringVar(&o.config, "config", "config.toml", "config file")
	fs.StringVar(&o.shard, "shard", "", `take shard "i/N" of every stream's token ring (overrides the config); "auto/N" or "auto" (N from the config) takes i from JOB_COMPLETION_INDEX, as set by a Kubernetes Indexed Job`)
	fs.StringVar(&o.progress, "progress", "", "progress display: auto, on or off (overrides runtime.progress)")
	fs.StringVar(&o.logLevel, "log-level", "", "debug, info, warn or error (overrides runtime.log_level)")
	fs.BoolVar(&o.skipDone, "skip-completed", false, "a stream (shard) whose last run completed is not scanned again: exit 0 at once (re-running an Indexed Job after some indexes failed)")
	fs.StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.cpuprof != "" {
		f, err := os.Create(o.cpuprof)
		if err != nil {
			return usagef("-cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return usagef("-cpuprofile: %v", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if fs.NArg() > 0 {
		return usagef("run: unexpected arguments %q", fs.Args())
	}
	cfg, pending, err := loadConfig(o.config, o.shard)
	if err != nil {
		return err
	}
	if o.progress != "" {
		cfg.Runtime.Progress = o.progress
	}
	if o.logLevel != "" {
		cfg.Runtime.LogLevel = o.logLevel
	}
	secrets, err := cfg.ResolveSecrets(nil)
	if err != nil {
		return usageError{err}
	}
	log := newLogger(cfg, stderr)

	// Signals: the first SIGINT/SIGTERM stops gracefully, the second aborts.
	ctx, abort := context.WithCancelCause(context.Background())
	defer abort(nil)
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	env, closeEnv, err := newEnv(ctx, cfg, secrets, log)
	if err != nil {
		return err
	}
	defer closeEnv()
	env.Lease = true // run takes each stream's lease; check only looks
	env.SkipCompleted = o.skipDone

	app := &app{cfg: cfg, pending: pending, env: env, log: log, stderr: stderr, secrets: secrets}
	// A signal while the streams are built (a wait for a lease another
	// process holds can last lease_wait) aborts the start: nothing has
	// been written yet.
	building := make(chan struct{})
	buildWatch := make(chan struct{})
	go func() {
		defer close(buildWatch)
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGHUP {
					continue // nothing runs yet: the config is read as it is now
				}
				log.Warn("interrupted while starting", "signal", sig.String())
				abort(fmt.Errorf("interrupted by %s while starting", sig))
				return
			case <-building:
				return
			}
		}
	}()
	streams, err := app.build(ctx)
	close(building)
	<-buildWatch
	if ctx.Err() != nil {
		for _, s := range streams {
			s.Close(ctx)
		}
		return interruptedError{fmt.Sprintf("%v; nothing was written", context.Cause(ctx))}
	}
	if err != nil {
		return err
	}
	admin, err := app.startAdmin(streams)
	if err != nil {
		for _, s := range streams {
			s.Close(ctx)
		}
		return err
	}
	defer admin.close()
	watch := app.watchPlugins(ctx, streams)
	defer watch()

	sigCtx, stopSignals := context.WithCancel(ctx)
	sigDone := make(chan struct{})
	go func() {
		defer close(sigDone)
		interrupted := false
		for {
			select {
			case sig := <-sigs:
				switch {
				case sig == syscall.SIGHUP:
					app.reloadConfig(ctx, o, streams)
				case !interrupted:
					interrupted = true
					log.Warn("stopping gracefully: finishing the pages in flight, flushing sinks, writing checkpoints (signal again to abort)", "signal", sig.String())
					close(stop)
				default:
					log.Error("aborting", "signal", sig.String())
					abort(errors.New("aborted by a second signal"))
					return
				}
			case <-sigCtx.Done():
				return
			}
		}
	}()

	sums, err := app.runAll(ctx, stop, streams)
	stopSignals()
	<-sigDone
	app.wait.Wait() // SIGHUP reloads: the streams have ended, so they end at once
	for _, s := range sums {
		fmt.Fprintf(stderr, "sluice: stream %q: rows in %d, rows out %d, pages %d, elapsed %s, %.0f rows/s%s\n",
			s.Stream, s.RowsIn, s.RowsOut, s.Pages, s.Elapsed.Round(time.Millisecond), s.RowsPerSecond(), rejectedNote(s)+resumedNote(s))
	}
	if err != nil {
		return err
	}
	if isClosed(stop) {
		var b strings.Builder
		for _, s := range sums {
			if !s.Complete {
				fmt.Fprintf(&b, "\n  stream %q: %s", s.Stream, s.Resume)
			}
		}
		return interruptedError{"interrupted; checkpoints written. To resume:" + b.String()}
	}
	return nil
}

// rejectedNote says how many rows plugins sent to the dead-letter output.
func rejectedNote(s stream.Summary) string {
	if s.Rejected == 0 {
		return ""
	}
	return fmt.Sprintf(", %d rejected to %s", s.Rejected, abi.RejectedOutput)
}

func resumedNote(s stream.Summary) string {
	if s.Resumed {
		return " (resumed from checkpoint)"
	}
	return ""
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// loadConfig loads and validates the config; problems exit 2. When the
// file is valid but plugin modules are missing on disk, it returns the
// config with those problems (pending) instead of an error: app.build
// reports them with every problem setup.Build finds, in one pass.
func loadConfig(path, shard string) (cfg *config.Config, pending *config.Error, err error) {
	cfg, err = config.Load(path)
	if err != nil && cfg == nil {
		return nil, nil, usageError{err}
	}
	if err != nil && !errors.As(err, &pending) {
		return nil, nil, usageError{err}
	}
	if shard != "" {
		if err := overrideShard(cfg, shard); err != nil {
			return nil, nil, err
		}
	}
	// "auto/N" (from the flag or the config) takes its index from
	// JOB_COMPLETION_INDEX: resolved here, once, for run, check, verify
	// and every SIGHUP re-read alike.
	if err := cfg.ResolveShards(os.Getenv); err != nil {
		return nil, nil, usageError{err}
	}
	return cfg, pending, nil
}

// overrideShard applies the -shard flag to every stream: "i/N", "auto/N",
// or "auto", which takes N from each stream's own shard in the config.
func overrideShard(cfg *config.Config, shard string) error {
	var sh config.Shard
	if strings.TrimSpace(shard) != "auto" {
		var err error
		if sh, err = config.ParseShard(shard); err != nil {
			return usagef("-shard: %v", err)
		}
	}
	for i := range cfg.Streams {
		s := &cfg.Streams[i]
		next := sh
		if sh.Count == 0 {
			if s.Shard.IsZero() {
				return usagef("-shard auto: stream %q has no shard count: give it as -shard auto/N, or set shard = \"auto/N\" in the stream", s.Name)
			}
			next = config.Shard{Count: s.Shard.Count, Auto: true}
		}
		if s.Source.CQL != "" && next.Count > 1 {
			return usagef("-shard %s: stream %q reads a CQL query, which cannot be sharded", shard, s.Name)
		}
		if s.Source.Mode == "follow" && next.Count > 1 {
			return usagef("-shard %s: stream %q follows a table (mode = \"follow\"), which cannot be sharded", shard, s.Name)
		}
		s.Shard = next
	}
	return nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Runtime.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Runtime.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newEnv connects to Cassandra and creates the Wasm runtime and metrics.
func newEnv(ctx context.Context, cfg *config.Config, secrets config.Secrets, log *slog.Logger) (*setup.Env, func(), error) {
	sess, err := newSession(cfg, secrets)
	if err != nil {
		return nil, nil, err
	}
	rt, err := host.NewRuntime(ctx, host.RuntimeConfig{CacheDir: cfg.Runtime.CacheDir, MemoryLimitPages: cfg.Runtime.MemoryLimit.WasmPages(), Logger: log})
	if err != nil {
		sess.Close()
		return nil, nil, fmt.Errorf("wasm runtime: %w", err)
	}
	env := &setup.Env{Config: cfg, Session: sess, Runtime: rt, Metrics: metrics.New(), Logger: log, Secrets: secrets}
	return env, func() {
		_ = rt.Close(context.WithoutCancel(ctx))
		sess.Close()
	}, nil
}

// newSession opens the gocql session the config describes.
func newSession(cfg *config.Config, secrets config.Secrets) (*gocql.Session, error) {
	c := cfg.Cassandra
	cl := gocql.NewCluster(c.Hosts...)
	cl.Consistency = c.Consistency.Gocql()
	cl.ProtoVersion = c.ProtocolVersion
	cl.ConnectTimeout = c.ConnectTimeout
	cl.Timeout = c.Timeout
	cl.Logger = gocql.NewLogger(gocql.LogLevelNone)
	cl.RegisteredTypes = cqltype.Types() // every type a table can hold, see internal/cqltype
	cl.DisableInitialHostLookup = !c.HostLookup
	if c.Keyspace != "" {
		cl.Keyspace = c.Keyspace
	}
	if c.LocalDC != "" {
		cl.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.DCAwareRoundRobinPolicy(c.LocalDC))
	} else {
		cl.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	}
	if c.Username != "" {
		cl.Authenticator = gocql.PasswordAuthenticator{Username: c.Username, Password: secrets.CassandraPassword}
	}
	if c.TLS.Enabled {
		tc := &tls.Config{ServerName: c.TLS.ServerName, InsecureSkipVerify: c.TLS.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return nil, usagef("cassandra.tls.ca_file: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, usagef("cassandra.tls.ca_file: %s holds no PEM certificate", c.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		if c.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
			if err != nil {
				return nil, usagef("cassandra.tls.cert_file/key_file: %v", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		cl.SslOpts = &gocql.SslOptions{Config: tc, EnableHostVerification: !c.TLS.InsecureSkipVerify}
	}
	s, err := cl.CreateSession()
	if err != nil {
		return nil, fmt.Errorf("connect to Cassandra at %s: %w", strings.Join(c.Hosts, ", "), err)
	}
	return s, nil
}

// app holds what `sluice run` shares between its streams, signal handling,
// admin server and plugin watcher.
type app struct {
	cfg     *config.Config
	pending *config.Error // problems loadConfig found on disk, reported by build
	env     *setup.Env
	log     *slog.Logger
	stderr  io.Writer
	secrets config.Secrets

	mu      sync.Mutex
	plugins map[[2]string]config.Plugin // (stream, plugin) → the config section it runs with; guarded by mu
	wait    sync.WaitGroup              // reload goroutines started by SIGHUP
}

// build creates every stream (setup.Build: the same checks as sluice
// check), compiling and validating every plugin before any row is read.
// Every problem of every stream, and the pending problems of loadConfig,
// are reported at once, and exit 2.
func (a *app) build(ctx context.Context) ([]*stream.Stream, error) {
	out, err := setup.Build(ctx, a.env)
	if a.pending != nil {
		for _, s := range out {
			s.Close(ctx)
		}
		return nil, usageError{mergeProblems(a.cfg, a.pending, err)}
	}
	if err != nil {
		return nil, usageError{err}
	}
	a.plugins = map[[2]string]config.Plugin{}
	for _, sc := range a.cfg.Streams {
		for _, p := range sc.Plugins {
			a.plugins[[2]string{sc.Name, setup.PluginName(p)}] = p
		}
	}
	return out, nil
}

// mergeProblems adds the problems of setup.Build's error, if any, to the
// pending problems of loadConfig, ordered by line. A plugin whose module
// is missing fails in setup.Build too (its file cannot be compiled): that
// problem is left out, as pending reports it already at its path key.
func mergeProblems(cfg *config.Config, pending *config.Error, err error) *config.Error {
	probs := slices.Clone(pending.Problems)
	var ce *config.Error
	switch {
	case err == nil:
	case errors.As(err, &ce):
		for _, p := range ce.Problems {
			if !slices.ContainsFunc(pending.Problems, func(q config.Problem) bool { return p.Path != "" && q.Path == p.Path+".path" }) {
				probs = append(probs, p)
			}
		}
	default:
		probs = append(probs, config.Problem{File: cfg.File, Msg: err.Error()})
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	return &config.Error{Problems: probs}
}

// runAll runs the streams, at most runtime.max_concurrent_streams at once.
// A failing stream with on_error = "stop_all" stops the others gracefully.
func (a *app) runAll(ctx context.Context, stop <-chan struct{}, streams []*stream.Stream) ([]stream.Summary, error) {
	sem := make(chan struct{}, a.cfg.Runtime.MaxConcurrentStreams)
	sums := make([]stream.Summary, len(streams))
	errs := make([]error, len(streams))
	stopAll := make(chan struct{})
	var stopAllOnce sync.Once
	merged := make(chan struct{})
	go func() {
		select {
		case <-stop:
		case <-stopAll:
		case <-ctx.Done():
		}
		close(merged)
	}()
	prog := newProgress(a.cfg, a.stderr, a.log, streams)
	defer prog.stop()
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-merged:
				sums[i] = stream.Summary{Stream: s.Name()}
				s.Close(ctx)
				return
			}
			defer func() { <-sem }()
			sums[i], errs[i] = s.Run(ctx, merged)
			if errs[i] != nil && !stream.IsStopped(errs[i]) {
				a.log.Error("stream failed", "stream", s.Name())
				if a.cfg.Streams[i].OnError != "stop_stream" {
					stopAllOnce.Do(func() { close(stopAll) })
				}
			}
		}()
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil && !stream.IsStopped(err) {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return sums, errors.Join(failed...)
	}
	return sums, nil
}
