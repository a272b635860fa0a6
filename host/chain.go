package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/abi"
)

// Chain is the ordered plugin instances of one stream worker: the default
// output of plugin i feeds plugin i+1; named outputs of every plugin are
// collected; the default output of the last plugin is the chain's default
// output. An empty chain passes pages through.
//
// A Chain is owned by exactly one goroutine (the stream worker), like the
// instances in it: no locks, no concurrent calls. It owns its instances:
// Close closes them, Swap closes the one it replaces.
type Chain struct {
	insts  []*Instance
	closed bool

	// lastPage/lastSplit number the pages that flush outputs produce.
	lastPage  uint64
	lastSplit uint32
}

// NewChain returns a chain of the given instances, in order; the chain
// takes ownership of them.
func NewChain(insts ...*Instance) *Chain {
	return &Chain{insts: append([]*Instance(nil), insts...)}
}

// Len returns the number of plugins.
func (c *Chain) Len() int { return len(c.insts) }

// Instance returns the i-th instance (for inspection by the owner).
func (c *Chain) Instance(i int) *Instance { return c.insts[i] }

// Process runs one page through the chain.
//
// When a plugin's default output has no rows, the plugins after it are not
// called for this page: there is nothing to give them, and ABI v1 has no
// notion of an empty page (plugins that count pages see only pages with
// rows). Named outputs produced before that point are still returned.
//
// A default output of one batch is handed to the next plugin as is
// (Instance.ProcessBatch): a selection is encoded straight into the next
// plugin's memory and its SELECT composed onto the original page, so
// filters chained one after another copy no row on the host. Several
// batches (e.g. SELECT plus ROWS of one schema) are concatenated into one
// new page first.
//
// On error (a *PluginError from the failing plugin) the outputs of this
// page are discarded; the failed instance is dead (see Instance).
func (c *Chain) Process(ctx context.Context, page *abi.Page) (Outputs, error) {
	if c.closed {
		return Outputs{}, fmt.Errorf("host: chain process: %w", ErrClosed)
	}
	c.lastPage, c.lastSplit = page.Number, page.Split
	if len(c.insts) == 0 {
		return passThrough(page), nil
	}
	var out Outputs
	if err := c.run(ctx, 0, Batch{page: page, rows: page.NumRows()}, &out); err != nil {
		return Outputs{}, err
	}
	return out, nil
}

// run feeds in to plugins from..end, adding outputs to out.
func (c *Chain) run(ctx context.Context, from int, in Batch, out *Outputs) error {
	cur := in
	number, split := in.page.Number, in.page.Split
	for j := from; j < len(c.insts); j++ {
		o, err := c.insts[j].ProcessBatch(ctx, cur)
		if err != nil {
			return err
		}
		out.addNamed(o)
		def := o.Default()
		if j == len(c.insts)-1 {
			for _, b := range def {
				out.add(abi.DefaultOutput, b)
			}
			return nil
		}
		if len(def) == 0 {
			return nil
		}
		cur = concat(def, number, split)
	}
	return nil
}

// ProbeSchema runs every plugin once on a page of schema with no rows, as
// `sluice check` and start-up do before any row is read: a plugin that
// checks its columns per page (a column it needs is missing, or of another
// type) fails here. Plugin i+1 is probed with the schema of plugin i's
// default output (the same schema when plugin i answered with a selection
// or nothing). Outputs are discarded. This is the one call with an empty
// page a plugin sees (abi/ABI.md, "The schema probe").
func (c *Chain) ProbeSchema(ctx context.Context, schema *abi.Schema) error {
	if c.closed {
		return fmt.Errorf("host: chain probe: %w", ErrClosed)
	}
	cur := Batch{page: abi.NewPageBuilder(schema, 0, 0).Page()}
	for _, inst := range c.insts {
		o, err := inst.ProcessBatch(ctx, cur)
		if err != nil {
			return err
		}
		if def := o.Default(); len(def) > 0 {
			cur = concat(def, 0, 0)
		}
	}
	return nil
}

// Flush flushes the plugins in order at the end of the stream: the default
// output of plugin i's flush is fed through plugins i+1.. (as pages
// numbered like the last page the chain processed); named outputs are
// collected. Flush stops at the first error.
func (c *Chain) Flush(ctx context.Context) (Outputs, error) {
	if c.closed {
		return Outputs{}, fmt.Errorf("host: chain flush: %w", ErrClosed)
	}
	var out Outputs
	for j, inst := range c.insts {
		o, err := inst.Flush(ctx)
		if err != nil {
			return Outputs{}, err
		}
		out.addNamed(o)
		def := o.Default()
		if len(def) == 0 {
			continue
		}
		if j == len(c.insts)-1 {
			for _, b := range def {
				b.page.Number, b.page.Split = c.lastPage, c.lastSplit
				out.add(abi.DefaultOutput, b)
			}
			continue
		}
		if err := c.run(ctx, j+1, concat(def, c.lastPage, c.lastSplit), &out); err != nil {
			return Outputs{}, err
		}
	}
	return out, nil
}

// Swap replaces plugin i by next, carrying its state: build, then swap,
// then drain. The caller prepares next off the hot path (Compile,
// Instantiate); Swap then snapshots the running instance (if its module
// exports sluice_snapshot), restores the state into next (if non-empty),
// puts next in place and closes the old instance.
//
// Swap takes ownership of next. If the snapshot or the restore fails, next
// is closed, the old instance stays in place and the error (a
// *PluginError naming the failing side) is returned: a failed restore
// leaves the stream running on the old version; a failed snapshot leaves
// the old instance dead (it failed), so the stream stops at its next page.
//
// Snapshot/restore is the only cross-version contract: a plugin without
// sluice_snapshot is treated as stateless, and its replacement starts
// fresh.
func (c *Chain) Swap(ctx context.Context, i int, next *Instance) error {
	if err := c.PrepareSwap(ctx, i, next); err != nil {
		if i < 0 || i >= len(c.insts) || next != c.insts[i] {
			_ = next.Close(ctx) // never the running instance
		}
		return err
	}
	return c.CommitSwap(ctx, i, next)
}

// PrepareSwap is the fallible first phase of a two-phase swap: it carries
// the state of running plugin i into next (snapshot, then restore) without
// putting next in place. The caller then either calls CommitSwap(i, next),
// with no page processed in between, or closes next (roll back); the chain
// keeps running the old instance until CommitSwap. Swap is both phases at
// once, for a single chain.
//
// PrepareSwap does not take ownership of next: on error the caller closes
// it. A failed snapshot leaves the running instance dead (it failed), so the
// chain fails at its next page; a failed restore leaves it untouched.
func (c *Chain) PrepareSwap(ctx context.Context, i int, next *Instance) error {
	if c.closed {
		return fmt.Errorf("host: chain swap: %w", ErrClosed)
	}
	if i < 0 || i >= len(c.insts) {
		return fmt.Errorf("host: chain swap: plugin index %d out of range [0, %d)", i, len(c.insts))
	}
	if next == c.insts[i] {
		return fmt.Errorf("host: chain swap: plugin %d: the new instance is the running one", i)
	}
	old := c.insts[i]
	state, err := old.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("host: swap plugin %q: snapshot of the running instance failed, not swapped: %w", old.Plugin(), err)
	}
	if err := next.Restore(ctx, state); err != nil {
		return fmt.Errorf("host: swap plugin %q: restoring %d bytes of state into module %s failed; still running module %s: %w",
			old.Plugin(), len(state), next.Module().ShortHash(), old.Module().ShortHash(), err)
	}
	return nil
}

// CommitSwap is the second phase of a two-phase swap: it puts next, prepared
// by PrepareSwap, in place of plugin i and closes the old instance. It takes
// ownership of next. It cannot fail except by misuse (a closed chain, an index
// out of range), in which case next is closed.
func (c *Chain) CommitSwap(ctx context.Context, i int, next *Instance) error {
	if c.closed || i < 0 || i >= len(c.insts) {
		_ = next.Close(ctx)
		return fmt.Errorf("host: chain commit swap of plugin %d: chain closed or index out of range", i)
	}
	old := c.insts[i]
	c.insts[i] = next
	_ = old.Close(ctx)
	return nil
}

// Close closes every instance. It is idempotent.
func (c *Chain) Close(ctx context.Context) error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, inst := range c.insts {
		if err := inst.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
