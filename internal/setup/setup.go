// Package setup builds sluice's streams from a parsed config: it compiles
// and initializes the plugins, opens the sinks, prepares the source's
// statements against the cluster's schema, plans the splits, opens the
// checkpoint store, and hands the result to internal/stream as a resolved
// stream.Spec. It is the one adapter between internal/config and the
// engine.
//
// Build is also `sluice check`: everything `sluice run` would refuse
// before reading a row is found here, every problem of every stream in one
// pass, each with the file:line of the table it comes from. So check and
// run cannot disagree: they are the same code.
package setup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/abi"
	"github.com/sluicehq/sluice/host"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/sink"
	"github.com/sluicehq/sluice/internal/stream"
	"github.com/sluicehq/sluice/internal/verify"
	"github.com/sluicehq/sluice/pager"
)

// Env is what the streams of one process share. Every field is safe for
// concurrent use.
type Env struct {
	Config  *config.Config
	Session *gocql.Session
	Runtime *host.Runtime
	Metrics *metrics.Metrics // nil = none
	Logger  *slog.Logger
	Stdout  io.Writer // stdout sinks write here; nil = the process's standard output
	// Store overrides the checkpoint store built from Config (tests).
	Store pager.CheckpointStore
	// Secrets are the values of the environment variables the config
	// names (kafka sinks' SASL passwords).
	Secrets config.Secrets
	// Lease: take each stream's lease (sluice run). Otherwise (sluice
	// check) the lease table is opened and a lease another process holds
	// is a problem when run would refuse it (lease_wait = 0).
	Lease bool
	// SkipCompleted: a stream whose last run completed does nothing
	// (sluice run -skip-completed).
	SkipCompleted bool
}

// Build builds every stream of the config. It returns every problem of
// every stream at once as a *config.Error (each with file:line), after
// closing whatever it built; nothing is read from any table.
func Build(ctx context.Context, env *Env) ([]*stream.Stream, error) {
	var out []*stream.Stream
	var probs []config.Problem
	for i, sc := range env.Config.Streams {
		s, err := New(ctx, env, i, sc)
		if err != nil {
			probs = append(probs, problemsOf(env.Config, err)...)
			continue
		}
		out = append(out, s)
	}
	if len(probs) > 0 {
		for _, s := range out {
			s.Close(ctx)
		}
		return nil, newError(probs)
	}
	return out, nil
}

// New builds stream i of the config, sc. Its problems come as one
// *config.Error.
func New(ctx context.Context, env *Env, i int, sc config.Stream) (_ *stream.Stream, err error) {
	b := &builder{env: env, cfg: env.Config, idx: i, sc: sc}
	spec, err := b.spec(ctx)
	if err != nil {
		return nil, err
	}
	s, err := stream.New(ctx, spec)
	if err != nil {
		return nil, newError([]config.Problem{b.problem(sc.Line, "", err)})
	}
	return s, nil
}

// builder builds the Spec of one stream, collecting every problem.
type builder struct {
	env   *Env
	cfg   *config.Config
	idx   int
	sc    config.Stream
	probs []config.Problem

	plugins []stream.Plugin
	sinks   []stream.Sink
	src     *pager.CassandraSource
	fence   stream.Fence // the lease of the stream's shard (sluice run); nil = none
	waited  time.Time    // when the fence was found held and waited for; zero = free at once
}

func (b *builder) problem(line int, sub string, err error) config.Problem {
	path := fmt.Sprintf("stream[%d] (%q)", b.idx, b.sc.Name)
	if sub != "" {
		path += "." + sub
	}
	msg := err.Error()
	if name := fmt.Sprintf("stream %q", b.sc.Name); !strings.Contains(msg, name) {
		msg = name + ": " + msg // the stream's name as logs and reports spell it
	}
	return config.Problem{File: b.cfg.File, Line: line, Path: path, Msg: msg}
}

func (b *builder) add(line int, sub string, err error) {
	b.probs = append(b.probs, b.problem(line, sub, err))
}

// closeAll releases what the builder made, on failure.
func (b *builder) closeAll(ctx context.Context) {
	for _, p := range b.plugins {
		_ = p.Version.Module.Close(ctx)
	}
	for _, s := range b.sinks {
		_ = s.Sink.Close()
	}
	if b.fence != nil {
		_ = b.fence.Close(ctx)
		b.fence = nil
	}
}

func (b *builder) spec(ctx context.Context) (stream.Spec, error) {
	sc := b.sc
	// The fence first: a process refused its shard's lease opens nothing
	// (no sink file, no plugin), and one that waited for it loads the
	// checkpoint its predecessor saved last (stream.New, below).
	if err := b.takeFence(ctx); err != nil {
		b.add(b.cfg.Line("checkpoint"), "", err)
		if b.env.Lease {
			return stream.Spec{}, newError(b.probs)
		}
	}
	for i, p := range sc.Plugins {
		v, err := Plugin(ctx, b.env, sc.Name, p)
		if err != nil {
			b.add(p.Line, fmt.Sprintf("plugin[%d] (%q)", i, PluginName(p)), err)
			continue
		}
		b.plugins = append(b.plugins, stream.Plugin{Name: PluginName(p), Version: v})
	}
	b.openSinks(ctx)
	opts := b.paging()
	var source pager.Source
	var plan pager.Plan
	var schema *abi.Schema  // the source's, once known
	var keyColumns []string // the primary key of the rows paged, where known (failure reports name it)
	if sc.Source.Mode == "follow" {
		if source, plan, schema = b.follow(ctx, opts); schema != nil && len(b.plugins) == len(sc.Plugins) {
			b.probe(ctx, schema)
		}
	} else {
		src, err := pager.NewCassandraSource(ctx, b.env.Session, b.sourceSpec(), opts)
		if err != nil {
			b.add(b.cfg.Line(fmt.Sprintf("stream[%d].source", b.idx)), "source", err)
		}
		b.src = src
		if src != nil {
			source = src
			if plan, err = src.Plan(ctx); err != nil {
				b.add(b.cfg.Line(fmt.Sprintf("stream[%d].source", b.idx)), "source", err)
			}
		}
		if src != nil {
			schema, keyColumns = src.Schema(), src.KeyColumns()
			if len(b.plugins) == len(sc.Plugins) {
				b.probe(ctx, schema)
			}
		}
	}
	if schema != nil && len(sc.Plugins) == 0 {
		b.checkSinks(ctx, schema)
	}
	store, where, startOver, err := b.store(ctx, opts.Shard)
	if err != nil {
		b.add(b.cfg.Line("checkpoint"), "", fmt.Errorf("checkpoint store: %w", err))
	}
	if len(b.probs) > 0 {
		b.closeAll(ctx)
		return stream.Spec{}, newError(b.probs)
	}
	var obs pager.Observer
	if b.env.Metrics != nil {
		obs = b.env.Metrics.Pager(sc.Name)
	}
	cc := b.cfg.Checkpoint
	return stream.Spec{
		Name: sc.Name, Source: source, Plan: plan, Paging: opts, Observer: obs, Follow: sc.Source.Mode == "follow", KeyColumns: keyColumns,
		Plugins: b.plugins, Sinks: b.sinks, Store: store, Fence: b.fence, WaitedSince: b.waited, SkipCompleted: b.env.SkipCompleted,
		Checkpoint: stream.CheckpointPolicy{EveryPages: cc.EveryPages, Interval: cc.Interval, Where: where, StartOver: startOver},
		Logger:     b.env.Logger, Metrics: b.env.Metrics,
	}, nil
}

// paging maps the source table to the pager's options. Every value is
// given explicitly: config/defaults.go is the one source of defaults, and
// a value the config accepted is passed on as it is.
func (b *builder) paging() pager.Options {
	src := b.sc.Source
	opts := pager.Options{
		Stream:         b.sc.Name,
		PageSize:       src.PageSize,
		Consistency:    src.Consistency.Gocql(),
		Prefetch:       src.Prefetch,
		Splits:         src.Splits,
		Concurrency:    src.Concurrency,
		RowsPerSecond:  src.RateLimitRows,
		PagesPerSecond: src.RateLimitPages,
		PageTimeout:    src.PageTimeout,
		Retries:        src.Retries,
		BackoffBase:    src.RetryBackoff,
		BackoffMax:     src.RetryBackoffMax,
	}
	if opts.Retries == 0 {
		opts.Retries = -1 // the config's 0 is "none"; the pager's -1 is
	}
	if !b.sc.Shard.IsZero() {
		opts.Shard = pager.Shard{Index: b.sc.Shard.Index, Count: b.sc.Shard.Count}
	}
	return opts
}

func (b *builder) sourceSpec() pager.Spec {
	src := b.sc.Source
	return pager.Spec{Keyspace: src.Keyspace, Table: src.Table, Columns: src.Columns, Where: src.Where,
		AllowFiltering: src.AllowFiltering, CQL: src.CQL, Args: src.Values}
}

func (b *builder) openSinks(ctx context.Context) {
	for i, c := range b.sc.Sinks {
		name := SinkName(c)
		senv := sink.Env{Stream: b.sc.Name, Session: b.env.Session, Stdout: b.env.Stdout}
		if c.Type == "kafka" {
			senv.KafkaPassword = b.env.Secrets.KafkaPasswords[b.sc.Name+"/"+c.Name]
			if len(c.Key) == 0 {
				pk, err := b.partitionKey()
				if err != nil {
					b.add(c.Line, fmt.Sprintf("sink[%d] (%q).key", i, name), err)
					continue
				}
				senv.PartitionKey = pk
			}
		}
		sk, err := sink.New(ctx, c, senv)
		if err != nil {
			b.add(c.Line, fmt.Sprintf("sink[%d] (%q)", i, name), err)
			continue
		}
		b.sinks = append(b.sinks, stream.Sink{Name: name, Identity: sinkIdentity(b.cfg, c), Outputs: c.Outputs, Sink: sk})
	}
}

// schemaChecker is a sink that can check, before any row is read, that it
// can write pages of a schema (the cassandra sink: the target's columns
// and types).
type schemaChecker interface {
	CheckSchema(ctx context.Context, s *abi.Schema) error
}

// checkSinks checks the sinks that take the source's pages as they are (a
// stream without plugins) against the source's schema, so that check
// refuses what the first page would. (Behind plugins the output's schema
// is known only from their first real page.)
func (b *builder) checkSinks(ctx context.Context, schema *abi.Schema) {
	if schema == nil {
		return
	}
	for _, sk := range b.sinks {
		ch, ok := sk.Sink.(schemaChecker)
		if !ok {
			continue
		}
		for i, c := range b.sc.Sinks {
			if SinkName(c) != sk.Name {
				continue
			}
			for _, o := range sk.Outputs {
				if o == "" {
					if err := ch.CheckSchema(ctx, schema); err != nil {
						b.add(c.Line, fmt.Sprintf("sink[%d] (%q)", i, sk.Name), err)
					}
					break
				}
			}
		}
	}
}

// sinkIdentity names what a sink writes to, so that a checkpoint can tell
// a renamed sink from a new one.
func sinkIdentity(cfg *config.Config, c config.Sink) string {
	switch c.Type {
	case "file":
		p, err := filepath.Abs(c.Path)
		if err != nil {
			p = c.Path
		}
		return "file:" + p
	case "cassandra":
		ks := c.Keyspace
		if ks == "" {
			ks = cfg.Cassandra.Keyspace
		}
		return "cassandra:" + ks + "." + c.Table
	case "parquet":
		p, err := filepath.Abs(c.Path)
		if err != nil {
			p = c.Path
		}
		return "parquet:" + p
	case "kafka":
		topics := []string{c.Topic}
		for _, o := range c.Outputs {
			if t, ok := c.Topics[o].(string); ok {
				topics = append(topics, o+"="+t)
			}
		}
		return "kafka:" + strings.Join(topics, ",")
	}
	return c.Type
}

// partitionKey returns the partition key columns of the source table, the
// default key of a kafka sink's records.
func (b *builder) partitionKey() ([]string, error) {
	src := b.sc.Source
	if src.Table == "" {
		return nil, fmt.Errorf("the source is a cql query, so the default key (the table's partition key) is unknown: set key to the columns of the record key")
	}
	if b.env.Session == nil {
		return nil, fmt.Errorf("no Cassandra session to read the partition key of %s.%s", src.Keyspace, src.Table)
	}
	ks := src.Keyspace
	if ks == "" {
		ks = b.cfg.Cassandra.Keyspace
	}
	md, err := b.env.Session.KeyspaceMetadata(ks)
	if err != nil {
		return nil, fmt.Errorf("partition key of %s.%s: %w", ks, src.Table, err)
	}
	t, ok := md.Tables[src.Table]
	if !ok {
		return nil, fmt.Errorf("partition key of %s.%s: no such table", ks, src.Table)
	}
	cols := make([]string, len(t.PartitionKey))
	for i, c := range t.PartitionKey {
		cols[i] = c.Name
	}
	return cols, nil
}

// probe runs every plugin chain once on a page of the source's real schema
// and no rows, on throwaway instances: a plugin that refuses the schema (an
// ERROR section: a column it needs is not read, or has another type) is
// refused here instead of on the first page of a run. (abi/ABI.md, "The
// schema probe".)
func (b *builder) probe(ctx context.Context, schema *abi.Schema) {
	if schema == nil || len(b.plugins) == 0 {
		return
	}
	insts := make([]*host.Instance, 0, len(b.plugins))
	for i, p := range b.plugins {
		cfg := p.Version.Instance
		cfg.Stream, cfg.Plugin = b.sc.Name, p.Name
		inst, err := p.Version.Module.Instantiate(ctx, cfg)
		if err != nil {
			b.add(b.sc.Plugins[i].Line, fmt.Sprintf("plugin[%d] (%q)", i, p.Name), err)
			for _, in := range insts {
				_ = in.Close(ctx)
			}
			return
		}
		insts = append(insts, inst)
	}
	chain := host.NewChain(insts...)
	defer func() { _ = chain.Close(ctx) }()
	if err := chain.ProbeSchema(ctx, schema); err != nil {
		line, sub := b.sc.Line, ""
		var pe *host.PluginError
		if errors.As(err, &pe) && pe.Kind != host.KindPluginReported {
			// The plugin did not refuse the schema: it failed on the
			// empty page itself (a trap, a limit, bad output). That is
			// reported where it happens on real rows, with the page, row
			// and resume point, by the run.
			return
		}
		if pe != nil {
			for i, p := range b.plugins {
				if p.Name == pe.Plugin {
					line, sub = b.sc.Plugins[i].Line, fmt.Sprintf("plugin[%d] (%q)", i, p.Name)
				}
			}
		}
		b.add(line, sub, fmt.Errorf("refused the source's columns (%s): %w", columnsText(schema), err))
	}
}

func columnsText(s *abi.Schema) string {
	var parts []string
	for _, c := range s.Columns {
		parts = append(parts, c.Name+" "+c.Type.String())
	}
	return strings.Join(parts, ", ")
}

// takeFence opens the lease table when the stream has a fence (store =
// "cassandra", lease_ttl > 0) and takes the lease of its shard (sluice
// run), or (sluice check) says whether run would be refused it now.
func (b *builder) takeFence(ctx context.Context) error {
	cc := b.cfg.Checkpoint
	if cc.Store != "cassandra" || cc.LeaseTTL <= 0 || b.env.Store != nil {
		return nil
	}
	leases, err := pager.NewCassandraLeases(ctx, b.env.Session, cc.Keyspace, pager.LeaseTable, b.cfg.Cassandra.Consistency.Gocql())
	if err != nil {
		return fmt.Errorf("lease table: %w", err)
	}
	shard := b.paging().Shard
	name := pager.LeaseName(b.sc.Name, shard)
	if !b.env.Lease {
		st, err := leases.Holder(ctx, name)
		if err != nil {
			return fmt.Errorf("lease table: %w", err)
		}
		if st.Holder != "" && cc.LeaseWait == 0 {
			return fmt.Errorf("the lease %q in %s is held by %q since %s: sluice run would refuse to run this shard now (another process runs it; lease_wait = \"0s\")",
				name, leases.Table(), st.Holder, st.Since.UTC().Format(time.RFC3339))
		}
		return nil
	}
	l, err := pager.AcquireLease(ctx, leases, name, pager.LeaseOptions{TTL: cc.LeaseTTL, Wait: cc.LeaseWait, Logger: b.env.Logger})
	if err != nil {
		return err
	}
	if b.env.Logger != nil {
		b.env.Logger.Info("fence: lease taken", "stream", b.sc.Name, "lease", name, "holder", l.Holder(), "ttl", cc.LeaseTTL, "waited", !l.WaitedSince().IsZero())
	}
	b.fence, b.waited = l, l.WaitedSince()
	return nil
}

// store opens the checkpoint store and says how to name and discard a
// checkpoint in it.
func (b *builder) store(ctx context.Context, shard pager.Shard) (st pager.CheckpointStore, where, startOver string, err error) {
	cc := b.cfg.Checkpoint
	if b.env.Store != nil {
		return b.env.Store, "the test store", "delete the stream's checkpoint", nil
	}
	switch cc.Store {
	case "file":
		fs, err := pager.NewFileStore(cc.Dir, shard)
		if err != nil {
			return nil, "", "", err
		}
		p := fs.Path(b.sc.Name)
		return fs, p, "delete " + p, nil
	case "cassandra":
		cs, err := pager.NewCassandraStore(ctx, b.env.Session, cc.Keyspace, cc.Table, shard, b.cfg.Cassandra.Consistency.Gocql())
		if err != nil {
			return nil, "", "", err
		}
		return cs, fmt.Sprintf("table %s.%s", cc.Keyspace, cc.Table),
			fmt.Sprintf("delete its rows: DELETE FROM %s.%s WHERE stream = '%s'", cc.Keyspace, cc.Table, strings.ReplaceAll(b.sc.Name, "'", "''")), nil
	}
	return nil, "", "", nil
}

// PluginName is the name of a plugin in its stream: its name, else its
// file name without .wasm.
func PluginName(p config.Plugin) string {
	if p.Name != "" {
		return p.Name
	}
	return strings.TrimSuffix(filepath.Base(p.Path), ".wasm")
}

// SinkName is the name of a sink in its stream: its name, else its type.
func SinkName(c config.Sink) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Type
}

// Plugin compiles the module of p, checks its sha256 when the config pins
// one, and initializes one instance with p's config (then closes it), so a
// module that cannot start is refused before any row is read. It is used
// at start-up and for every reload.
func Plugin(ctx context.Context, env *Env, streamName string, p config.Plugin) (stream.Version, error) {
	name := PluginName(p)
	kvs, err := abi.FlattenConfig(p.Config)
	if err != nil {
		return stream.Version{}, fmt.Errorf("config: %w", err)
	}
	mod, err := env.Runtime.CompileFile(ctx, name, p.Path)
	if err != nil {
		return stream.Version{}, err
	}
	if p.SHA256 != "" && !strings.EqualFold(p.SHA256, mod.SHA256) {
		_ = mod.Close(ctx)
		return stream.Version{}, fmt.Errorf("%s has sha256 %s, the config requires %s", p.Path, mod.SHA256, p.SHA256)
	}
	rt := env.Config.Runtime
	ic := host.InstanceConfig{
		Stream:           streamName,
		Plugin:           name,
		Config:           kvs,
		PageTimeout:      p.PageTimeout,
		MemoryLimitPages: p.MemoryLimit.WasmPages(),
		Logger:           env.Logger, // the host adds stream, plugin and module
		ResultCap:        int(rt.MaxResultSize),
	}
	inst, err := mod.Instantiate(ctx, ic)
	if err != nil {
		_ = mod.Close(ctx)
		return stream.Version{}, err
	}
	_ = inst.Close(ctx)
	return stream.Version{Module: mod, Instance: ic, Key: versionKey(mod, kvs, p), Origin: p.Path}, nil
}

// Reload swaps plugin p (by its name) of the running stream s to the
// current content of p's module file with p's config: the module is
// compiled and initialized here, off the stream's hot path, then the
// stream self-tests it and swaps it on every worker or on none. A module
// that cannot be compiled or initialized is refused here, and counted and
// logged as a refused swap like one the stream refuses.
func Reload(ctx context.Context, env *Env, s *stream.Stream, p config.Plugin) error {
	name := PluginName(p)
	v, err := Plugin(ctx, env, s.Name(), p)
	if err != nil {
		err = fmt.Errorf("stream %q plugin %q: new version from %s refused: %w", s.Name(), name, p.Path, err)
		s.Refused(name, err)
		return err
	}
	return s.Reload(ctx, name, v)
}

// versionKey identifies a module with its config and limits.
func versionKey(mod *host.Module, kvs []abi.KV, p config.Plugin) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00", mod.SHA256, p.MemoryLimit, p.PageTimeout)
	for _, kv := range kvs {
		fmt.Fprintf(h, "%d:%s%d:%s", len(kv.Key), kv.Key, len(kv.Value), kv.Value)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// problemsOf turns a build error into problems: a *config.Error's own, or
// one problem without a line.
func problemsOf(cfg *config.Config, err error) []config.Problem {
	var ce *config.Error
	if errors.As(err, &ce) {
		return ce.Problems
	}
	return []config.Problem{{File: cfg.File, Msg: err.Error()}}
}

// newError orders problems by line, as config.Parse does.
func newError(probs []config.Problem) *config.Error {
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	return &config.Error{Problems: probs}
}

// VerifyInput opens what sluice verify needs of stream i of the config,
// sc: its source and current plan, and the checkpoint of every shard of
// its scan (the shard count is sc.Shard's; an "auto/N" shard need not be
// resolved). part is verify's own share of the re-read ("i/M", zero =
// all). No plugin or sink is opened and nothing is written.
func VerifyInput(ctx context.Context, env *Env, i int, sc config.Stream, part pager.Shard) (verify.Input, error) {
	b := &builder{env: env, cfg: env.Config, idx: i, sc: sc}
	if sc.Source.CQL != "" {
		return verify.Input{}, fmt.Errorf("stream %q reads a CQL query (one split, no token ranges): verify re-reads token ranges of a table scan", sc.Name)
	}
	if b.cfg.Checkpoint.Store == "none" {
		return verify.Input{}, fmt.Errorf("stream %q: [checkpoint] store = \"none\": a scan without checkpoints leaves nothing to verify against", sc.Name)
	}
	opts := b.paging()
	opts.Shard = part
	src, err := pager.NewCassandraSource(ctx, env.Session, b.sourceSpec(), opts)
	if err != nil {
		return verify.Input{}, fmt.Errorf("stream %q: source: %w", sc.Name, err)
	}
	plan, err := src.Plan(ctx)
	if err != nil {
		return verify.Input{}, fmt.Errorf("stream %q: source: %w", sc.Name, err)
	}
	n := max(1, sc.Shard.Count)
	in := verify.Input{Stream: sc.Name, Source: src, Query: plan.Query, QueryFingerprint: plan.Fingerprint, Paging: opts}
	for k := range n {
		st, where, _, err := b.store(ctx, pager.Shard{Index: k, Count: n})
		if err != nil {
			return verify.Input{}, fmt.Errorf("stream %q: checkpoint store: %w", sc.Name, err)
		}
		cp, err := st.Load(ctx, sc.Name)
		if err != nil {
			return verify.Input{}, fmt.Errorf("stream %q: checkpoint of shard %d/%d in %s: %w", sc.Name, k, n, where, err)
		}
		in.Checkpoints = append(in.Checkpoints, cp)
	}
	return in, nil
}
