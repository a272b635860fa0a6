package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/internal/config"
)

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", "sluice check -config FILE",
		`Validate everything a run needs, without reading a row: the config (every problem
at once, with file:line and key path) and the plugin modules it names, the
secrets it names, the connection to Cassandra, every stream's source against
the table schema (columns, where, cql and the types of its values), every
plugin (compiled, exports and imports checked, ABI version negotiated, init
run with its config), the schema probe (each chain run on the source's real
columns), the sinks, and whether a saved checkpoint can be resumed. These
are the checks sluice run makes before its first row, in the same code.
Exits 0 when all is well, 2 listing every problem otherwise.`, stderr)
	path := fs.String("config", "config.toml", "config file")
	shard := fs.String("shard", "", `check with shard "i/N" (as sluice run -shard)`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("check: unexpected arguments %q", fs.Args())
	}
	cfg, pending, err := loadConfig(*path, *shard)
	if err != nil {
		return err
	}
	var problems []error
	secrets, err := cfg.ResolveSecrets(nil)
	if err != nil {
		problems = append(problems, err)
	}
	ctx := context.Background()
	log := newLogger(cfg, io.Discard)
	env, closeEnv, err := newEnv(ctx, cfg, secrets, log)
	if err != nil {
		if pending != nil {
			problems = append(problems, pending)
		}
		problems = append(problems, err)
		return usageError{errors.Join(problems...)}
	}
	defer closeEnv()
	a := &app{cfg: cfg, pending: pending, env: env, log: log, stderr: stderr, secrets: secrets}
	streams, err := a.build(ctx)
	if err != nil {
		problems = append(problems, err)
	}
	for _, s := range streams {
		s.Close(ctx)
	}
	if len(problems) > 0 {
		return usageError{errors.Join(problems...)}
	}
	fmt.Fprintf(stdout, "%s: ok: %d streams, %d plugins checked against Cassandra at %v\n", cfg.File, len(cfg.Streams), countPlugins(cfg), cfg.Cassandra.Hosts)
	return nil
}

func countPlugins(cfg *config.Config) int {
	n := 0
	for _, s := range cfg.Streams {
		n += len(s.Plugins)
	}
	return n
}
