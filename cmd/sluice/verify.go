package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/setup"
	"github.com/sluicehq/sluice/internal/verify"
	"github.com/sluicehq/sluice/pager"
)

// errDiffers marks a verify that found a difference or an incomplete scan
// (exit 1).
var errDiffers = errors.New("verify found differences or an incomplete scan")

func cmdVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", "sluice verify -config FILE [flags]",
		`Verify the last scan of every [[stream]] of the config against its checkpoints
and against the table as it is now.

The final checkpoint of each shard is the scan's manifest: for every split
(token range) the rows read and a digest of the raw cells read. verify loads
the checkpoints of all N shards of each stream (N from its shard = "i/N" or
"auto/N"), checks that each is complete and that together they cover the
token ring exactly once, then re-reads those very ranges and reports each
range whose row count or digest differs, so it can be re-scanned alone.
A difference means the rows of that range changed since the scan (writes,
deletes, TTL expiry) or the scan lost or doubled rows; on a table nobody
writes to, it means the latter.

The re-read pages like a run (the source's splits and concurrency) and can
itself be split over processes with -part i/M (or auto/M: i from
JOB_COMPLETION_INDEX). Progress goes to stderr, the report to stdout.
Exits 0 when every stream verifies, 1 when a range differs or a scan is
incomplete, 2 on a usage or config error.`, stderr)
	path := fs.String("config", "config.toml", "config file")
	partFlag := fs.String("part", "", `re-read only part "i/M" of the splits (or "auto/M": i from JOB_COMPLETION_INDEX)`)
	only := fs.String("stream", "", "verify only this stream")
	noReread := fs.Bool("no-reread", false, "only check the checkpoints (complete, covering the ring once); read no table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("verify: unexpected arguments %q", fs.Args())
	}
	// Missing plugin modules do not matter here: verify runs no plugin.
	cfg, err := config.Load(*path)
	var pending *config.Error
	if err != nil && (cfg == nil || !errors.As(err, &pending)) {
		return usageError{err}
	}
	part, err := config.ParseShard(*partFlag)
	if err != nil {
		return usagef("-part: %v", err)
	}
	if part, err = part.Resolve(os.Getenv); err != nil {
		return usagef("-part: %v", err)
	}
	secrets, err := cfg.ResolveSecrets(nil)
	if err != nil {
		return usageError{err}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	log := newLogger(cfg, stderr)
	env, closeEnv, err := newEnv(ctx, cfg, secrets, log)
	if err != nil {
		return err
	}
	defer closeEnv()
	found, failed := false, false
	for i, sc := range cfg.Streams {
		if *only != "" && sc.Name != *only {
			continue
		}
		found = true
		in, err := setup.VerifyInput(ctx, env, i, sc, pager.Shard{Index: part.Index, Count: part.Count})
		if err != nil {
			return usageError{err}
		}
		in.NoReread = *noReread
		last := time.Now()
		in.Progress = func(p verify.Progress) {
			if p.Splits == p.Of || time.Since(last) >= 2*time.Second {
				last = time.Now()
				fmt.Fprintf(stderr, "sluice verify: stream %q: %d/%d splits re-read, %d rows, %s\n", sc.Name, p.Splits, p.Of, p.Rows, p.Elapsed.Round(time.Second))
			}
		}
		rep, err := verify.Run(ctx, in)
		if err != nil {
			return err
		}
		rep.Write(stdout)
		if !rep.OK() {
			failed = true
		}
	}
	if !found {
		return usagef("verify: no stream %q in %s", *only, cfg.File)
	}
	if failed {
		return errDiffers
	}
	return nil
}
