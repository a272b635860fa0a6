package pager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/sluicehq/sluice/abi"
)

// Request is one page fetch asked of a Source.
type Request struct {
	Split    Split
	State    []byte // paging state of the page to fetch; empty = the split's first page
	PageSize int    // rows per page
	Page     uint64 // 1-based number of the page within the split (diagnostics)
}

// Source is the seam between the paging logic and Cassandra: the gocql
// implementation (CassandraSource) in production, a fake in unit tests.
//
// Reading a page has two phases, so that the pager can send the request of
// page k+1 while it decodes page k (the node works while the client
// scans):
//
//   - Request sends the request of one page of req.Split, starting at
//     req.State, and returns once its response has arrived (or the request
//     failed), without decoding any row. It must honour ctx, which bounds
//     the request only: the Response stays usable after ctx ends. It must
//     not keep req.State after it returns.
//   - The Response then gives the paging state of the next page (Next) at
//     once, and its rows (Decode) on demand.
//
// For one split the pager has at most one Request in flight, and it may
// run concurrently with the Decode of that split's previous page;
// Requests and Decodes of different splits run concurrently. A failed
// Request or Decode is retried, if IsRetryable says so, with the same
// state: the pager discards whatever the builder holds and every request
// sent ahead of the failed page.
type Source interface {
	Request(ctx context.Context, req Request) (Response, error)
}

// Response is a page that has arrived and is not decoded yet. It belongs
// to one goroutine at a time: the helper goroutine that requested it hands
// it to the split's owner over a channel.
type Response interface {
	// Next returns the paging state of the page after this one; empty
	// means this is the split's last page — which the pager only trusts
	// once Decode has returned nil. The pager copies it.
	Next() []byte
	// Decode reads the page's rows into b: it calls b.Reset(schema, 0,
	// uint32(split index)) with the page's schema, then appends each row
	// (AppendCell... EndRow). It returns the error the read of the page
	// ended with (for gocql, Iter.Close's), and releases the response: it
	// is called at most once, must honour ctx and must not keep b.
	Decode(ctx context.Context, b *abi.PageBuilder) error
	// Close releases a response that will not be decoded (a request sent
	// ahead that the pager discards because the split stops or a page
	// before it must be retried). It is idempotent and a no-op after
	// Decode.
	Close()
}

// Plan is what a pager pages: the splits of the whole stream (all shards)
// in index order, and the fingerprint of the query and split plan that
// checkpoints carry.
type Plan struct {
	Query       string // normalized query text, for diagnostics
	Fingerprint string // Fingerprint(query, args, splits)
	Splits      []Split
}

// NewPlan validates splits (ValidatePlan) and returns their plan for query
// with bind values args.
func NewPlan(query string, args []any, splits []Split) (Plan, error) {
	if err := ValidatePlan(splits); err != nil {
		return Plan{}, err
	}
	return Plan{Query: NormalizeCQL(query), Fingerprint: Fingerprint(query, args, splits), Splits: splits}, nil
}

// Delivery is one page handed to the consumer by Next.
type Delivery struct {
	// Page holds the rows in the ABI layout. Page.Number is 1-based,
	// strictly increasing in delivery order over the whole stream (all
	// splits of this process; it continues from the checkpoint's page
	// count on resume); Page.Split is the split index. The page may have no
	// rows: it is delivered anyway so that its Position can be committed.
	Page *abi.Page
	// Split is the split the page belongs to.
	Split Split
	// Position is the position of the split *after* this page: commit it
	// (Progress.Commit, then save a checkpoint) once the page is fully
	// processed downstream. Position.Done marks the split's last page.
	Position Position

	recycle chan<- *abi.Page // the split owner's recycle slot; nil: none
}

// Release hands the page's buffers back to the owner of its split, which
// builds a later page of the split in them instead of allocating new ones.
// Call it once the consumer is done with the page for good: afterwards
// nothing may read Page, any Row or cell of it, or any view over its
// buffers (a host.Batch over it, a slice of its Data) on any goroutine,
// because the next page overwrites them. Position stays valid (it has its
// own memory).
//
// Release is optional: a page never released is left to the garbage
// collector. It never blocks: the page is dropped when the owner has a
// released page waiting already or the split has ended. It may be called
// from any goroutine, at most once per page.
func (d Delivery) Release() {
	if d.recycle == nil || d.Page == nil {
		return
	}
	select {
	case d.recycle <- d.Page:
	default:
	}
}

// Stats are the counters of one pager, readable from any goroutine.
type Stats struct {
	Pages      uint64 // pages fetched, empty ones included
	EmptyPages uint64 // pages with no rows
	Rows       uint64
	Bytes      uint64 // bytes of the rows areas
	Retries    uint64 // page fetch retries
	SplitsDone uint64
}

// Pager pages the splits of a plan that belong to its shard, each split by
// its own owner goroutine, and hands the pages to one consumer.
//
// Ownership:
//   - Each split's paging state, counters, page builder and the responses
//     of its requests belong to that split's owner goroutine (runSplit,
//     state in splitOwner) and nobody else. The owner sends each page
//     request on a short-lived helper goroutine, which only performs the
//     blocking request (Source.Request) and hands the response back to
//     the owner over a channel; the owner waits for every helper it
//     started before it exits (a cancelled or discarded request
//     included), so no helper outlives its split. A finished page and its Position are sent on
//     the delivery channel and change owner: the owner touches the page
//     again only if the consumer hands it back with Delivery.Release, over
//     the split's recycle channel (never blocking; dropped when full).
//   - The consumer goroutine owns the calls to Resume, Start, Next and
//     Progress, and the page number counter.
//   - Close, Err and Stats may be called from any goroutine.
//
// Request-ahead: as soon as the response of page k has arrived, and before
// page k is decoded, the owner sends the request of page k+1 with the
// paging state of page k's response, so the node reads page k+1 while the
// client decodes page k. At most one request per split is in flight.
//
// Memory is bounded whatever the table size. A split owner takes one of
// its Prefetch credits before it takes a page's response to decode it
// (the first page's before it requests it), and Next gives it back
// when the consumer takes the page; the owner sends the request of the
// next page ahead only while it holds the credit of the current one. So
// per split there exist at most:
//   - Prefetch built pages the consumer has not taken (delivered ones and
//     the one being decoded), plus
//   - one response being received or received and not yet decoded (the
//     request sent ahead: the driver's frame of about one page), plus
//   - one page released by the consumer (Delivery.Release) waiting in the
//     split's recycle slot to become the buffers of the next page built.
//
// The builder holds no buffers of its own between pages: each page takes
// them (from the recycle slot or new) when its decode starts. A slow
// consumer therefore stops the requests (backpressure): with all
// credits out, the owner holds one response ahead and waits. At most
// Concurrency splits are paged at a time.
type Pager struct {
	src  Source
	plan Plan
	opts Options
	obs  Observer

	rowLim  *rate.Limiter // nil = unlimited; safe for concurrent use
	pageLim *rate.Limiter

	// Owned by the consumer goroutine.
	started  bool
	run      string           // run id stamped on checkpoints: drawn by New, or the resumed checkpoint's
	resume   map[int]Position // by split index
	number   uint64           // last page number handed out by Next
	base     uint64           // page number before the first page of this run (pages of the checkpoint)
	progress *Progress

	// Set by Start, then read-only.
	out  chan delivery
	done chan struct{} // closed when every goroutine of the pager has exited

	stop      chan struct{} // closed by Close
	closeOnce sync.Once
	closed    atomic.Bool

	failed chan struct{} // closed on the first fatal error
	mu     struct {
		sync.Mutex
		err     error              // first fatal error
		cancel  context.CancelFunc // cancels the run; nil before Start
		running bool               // Start launched the goroutines (done will be closed)
	}

	stats struct {
		pages, empty, rows, bytes, retries, splitsDone atomic.Uint64
	}
}

type delivery struct {
	Delivery
	credits chan struct{} // the split's credits; Next returns one
}

// New returns a pager of the splits of plan that belong to opts.Shard,
// reading pages from src. obs may be nil. Nothing runs before Start.
func New(src Source, plan Plan, opts Options, obs Observer) (*Pager, error) {
	if src == nil {
		return nil, errors.New("pager: nil source")
	}
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := ValidatePlan(plan.Splits); err != nil {
		return nil, fmt.Errorf("pager: stream %q: %w", opts.Stream, err)
	}
	if plan.Fingerprint == "" {
		return nil, fmt.Errorf("pager: stream %q: plan has no fingerprint (build it with NewPlan)", opts.Stream)
	}
	if n := opts.Shard.count(); n > len(plan.Splits) {
		return nil, fmt.Errorf("pager: stream %q: shard %s of a plan of %d splits: N must not exceed the number of splits (raise splits to at least %d)",
			opts.Stream, opts.Shard, len(plan.Splits), n)
	}
	if obs == nil {
		obs = nopObserver{}
	}
	p := &Pager{
		src: src, plan: plan, opts: opts, obs: obs,
		run:    newRunID(),
		resume: map[int]Position{},
		stop:   make(chan struct{}),
		failed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	if opts.RowsPerSecond > 0 {
		p.rowLim = rate.NewLimiter(rate.Limit(opts.RowsPerSecond), max(opts.PageSize, int(opts.RowsPerSecond)))
	}
	if opts.PagesPerSecond > 0 {
		p.pageLim = rate.NewLimiter(rate.Limit(opts.PagesPerSecond), 1)
	}
	return p, nil
}

// Plan returns the plan the pager was built with.
func (p *Pager) Plan() Plan { return p.plan }

// Options returns the options in effect (defaults applied).
func (p *Pager) Options() Options { return p.opts }

// Splits returns the splits of the plan that belong to the pager's shard.
func (p *Pager) Splits() []Split {
	var out []Split
	for _, s := range p.plan.Splits {
		if p.opts.Shard.Owns(s.Index) {
			out = append(out, s)
		}
	}
	return out
}

// Resume makes the pager continue from cp: each split resumes from its
// saved position and done splits are skipped, and the checkpoints of
// Progress carry cp's run id (Checkpoint.Run) instead of the new one New
// drew. A nil cp makes the pager start a new run (with a new run id),
// forgetting a checkpoint an earlier Resume gave it. It must be
// called before Start. It refuses (wrapping ErrFingerprint) a checkpoint
// of another query or split plan, and refuses one of another stream or
// shard.
func (p *Pager) Resume(cp *Checkpoint) error {
	if p.started {
		return ErrStarted
	}
	if cp == nil {
		if p.resume != nil {
			p.resume, p.run, p.progress = nil, newRunID(), nil
		}
		return nil
	}
	if err := cp.Validate(); err != nil {
		return err
	}
	if cp.Stream != p.opts.Stream {
		return fmt.Errorf("pager: checkpoint is of stream %q, this pager pages stream %q", cp.Stream, p.opts.Stream)
	}
	if cp.Fingerprint != p.plan.Fingerprint {
		return fingerprintMismatch(p.opts.Stream, cp.Fingerprint, p.plan.Fingerprint)
	}
	if !cp.Shard.Equal(p.opts.Shard) {
		return fmt.Errorf("pager: stream %q: the checkpoint was written by shard %s, this process is shard %s: restart with the same shard count",
			p.opts.Stream, cp.Shard, p.opts.Shard)
	}
	res := make(map[int]Position, len(cp.Positions))
	for _, pos := range cp.Positions {
		if pos.Split < 0 || pos.Split >= len(p.plan.Splits) {
			return fmt.Errorf("pager: stream %q: checkpoint has split %d, the plan has %d splits", p.opts.Stream, pos.Split, len(p.plan.Splits))
		}
		if !p.opts.Shard.Owns(pos.Split) {
			return fmt.Errorf("pager: stream %q: checkpoint has split %d, which is not in shard %s", p.opts.Stream, pos.Split, p.opts.Shard)
		}
		if sp := p.plan.Splits[pos.Split]; pos.SplitRange() != sp {
			return fmt.Errorf("pager: stream %q: checkpoint has %s, the plan has %s: %w", p.opts.Stream, pos.SplitRange(), sp, ErrFingerprint)
		}
		res[pos.Split] = pos.Clone()
	}
	p.resume = res
	p.run = cp.Run
	p.progress = nil
	return nil
}

// startPositions returns the position each split of the shard starts from.
func (p *Pager) startPositions() []Position {
	var out []Position
	for _, s := range p.Splits() {
		pos, ok := p.resume[s.Index]
		if !ok {
			pos = StartPosition(s)
		}
		out = append(out, pos)
	}
	return out
}

// Progress returns the tracker of committed positions for this pager's
// shard, initialized with the positions paging starts from (those of the
// checkpoint given to Resume, else the start of every split) and the run
// id its checkpoints carry (see Checkpoint.Run). The same
// tracker is returned on every call; it belongs to the consumer goroutine
// (or to whichever single goroutine commits).
func (p *Pager) Progress() *Progress {
	if p.progress == nil {
		pos := p.startPositions()
		pr := &Progress{stream: p.opts.Stream, run: p.run, fingerprint: p.plan.Fingerprint, shard: p.opts.Shard,
			pos: pos, index: make(map[int]int, len(pos))}
		for i, ps := range pos {
			pr.index[ps.Split] = i
		}
		p.progress = pr
	}
	return p.progress
}

// Start starts paging: one owner goroutine per split (at most Concurrency
// at a time) fetching ahead of the consumer. ctx bounds the whole run:
// cancelling it stops every fetch (within the page in flight) and ends the
// stream with an error that wraps ctx's. Start may be called once.
func (p *Pager) Start(ctx context.Context) error {
	if p.started {
		return ErrStarted
	}
	if p.closed.Load() {
		return ErrClosed
	}
	p.started = true
	todo := p.startPositions()
	for _, pos := range todo {
		p.number += pos.Pages
	}
	p.base = p.number
	conc := min(p.opts.Concurrency, max(len(todo), 1))
	p.out = make(chan delivery, conc*p.opts.Prefetch)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return ErrClosed
	}
	runCtx, cancel := context.WithCancel(ctx)
	p.mu.cancel, p.mu.running = cancel, true
	go p.dispatch(runCtx, todo, conc)
	return nil
}

// Next returns the next page, in the order the split owners finished them
// (pages of one split are always in order). It returns io.EOF once every
// split of the shard has been delivered, the stream's error (a
// *FetchError, or the cancellation of Start's context) when paging
// stopped early, ErrClosed after Close, and ctx's error if ctx ends first
// (the stream goes on; Next may be called again).
func (p *Pager) Next(ctx context.Context) (Delivery, error) {
	if !p.started {
		return Delivery{}, errors.New("pager: Next called before Start")
	}
	if p.closed.Load() {
		return Delivery{}, ErrClosed
	}
	select {
	case <-p.failed:
		return Delivery{}, p.Err()
	default:
	}
	select {
	case d, ok := <-p.out:
		if !ok {
			if err := p.Err(); err != nil {
				return Delivery{}, err
			}
			if p.closed.Load() {
				return Delivery{}, ErrClosed
			}
			return Delivery{}, io.EOF
		}
		d.credits <- struct{}{} // never blocks: the owner took this credit for this page
		p.number++
		d.Page.Number = p.number
		return d.Delivery, nil
	case <-p.failed:
		return Delivery{}, p.Err()
	case <-p.stop:
		return Delivery{}, ErrClosed
	case <-ctx.Done():
		return Delivery{}, ctx.Err()
	}
}

// Err returns the error that stopped the stream: a *FetchError, or the
// cancellation of Start's context (wrapped). It is nil while paging goes
// on, after a complete run, and after a Close that came before any
// failure.
func (p *Pager) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.err
}

// Stats returns the pager's counters.
func (p *Pager) Stats() Stats {
	return Stats{
		Pages: p.stats.pages.Load(), EmptyPages: p.stats.empty.Load(), Rows: p.stats.rows.Load(),
		Bytes: p.stats.bytes.Load(), Retries: p.stats.retries.Load(), SplitsDone: p.stats.splitsDone.Load(),
	}
}

// Close stops paging and releases everything: in-flight fetches are
// cancelled, undelivered pages dropped, and Close returns once every
// goroutine of the pager has exited. The consumer may call it at any time,
// without draining. Close is idempotent and safe from any goroutine.
func (p *Pager) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed.Store(true)
		close(p.stop)
		if p.mu.cancel != nil {
			p.mu.cancel()
		}
		p.mu.Unlock()
	})
	p.mu.Lock()
	running := p.mu.running
	p.mu.Unlock()
	if running {
		<-p.done
	}
	return nil
}

// fail records the first fatal error and stops every split.
func (p *Pager) fail(err error) {
	p.mu.Lock()
	first := p.mu.err == nil
	if first {
		p.mu.err = err
		close(p.failed)
		p.mu.cancel()
	}
	p.mu.Unlock()
}

// dispatch starts an owner goroutine per split, at most conc at a time, and
// closes the delivery channel once they have all exited.
func (p *Pager) dispatch(ctx context.Context, todo []Position, conc int) {
	defer close(p.done)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup // the split owners
loop:
	for _, pos := range todo {
		if pos.Done {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Add(1)
		go func(pos Position) {
			defer wg.Done()
			defer func() { <-sem }()
			p.runSplit(ctx, pos)
		}(pos)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil && !p.closed.Load() {
		p.fail(fmt.Errorf("pager: stream %q: stopped before the end: %w", p.opts.Stream, context.Cause(ctx)))
	}
	close(p.out)
}

// splitOwner is the state of one split's owner goroutine (runSplit): the
// split's builder, the request sent ahead and the size of the last page
// built. Only that goroutine touches it; recycled is the one channel other
// goroutines use (Delivery.Release sends on it).
type splitOwner struct {
	sp    Split
	b     *abi.PageBuilder
	ahead *inflight // the request of the next page, sent before the current one was decoded; nil: none
	// recycled holds at most one page given back by Delivery.Release,
	// whose buffers the next page is built in.
	recycled           chan *abi.Page
	holding            bool // the builder holds buffers (Reset since the last Page)
	lastRows, lastData int  // of the last page built, to judge a recycled page
}

// runSplit is the owner goroutine of one split: it alone uses the split's
// position, builder and page responses (see Pager).
func (p *Pager) runSplit(ctx context.Context, pos Position) {
	o := &splitOwner{sp: pos.SplitRange(), b: &abi.PageBuilder{}, recycled: make(chan *abi.Page, 1)}
	sp := o.sp
	d := p.opts.Prefetch
	credits := make(chan struct{}, d)
	for range d {
		credits <- struct{}{}
	}
	defer func() { o.ahead.discard() }()
	for !pos.Done {
		select {
		case <-credits:
		case <-ctx.Done():
			return
		}
		page, next, lat, err := p.fetch(ctx, o, pos)
		if err != nil {
			if ctx.Err() == nil {
				p.fail(err)
			}
			return
		}
		rows := page.NumRows()
		if p.rowLim != nil && p.waitRows(ctx, rows) != nil {
			return
		}
		np := Position{Split: sp.Index, Lo: sp.Lo, Hi: sp.Hi, Whole: sp.Whole,
			PageState: next, Done: len(next) == 0, Pages: pos.Pages + 1, Rows: pos.Rows + uint64(rows),
			Digest: pos.Digest + PageDigest(page)}
		p.stats.pages.Add(1)
		p.stats.rows.Add(uint64(rows))
		p.stats.bytes.Add(uint64(len(page.Data)))
		if rows == 0 {
			p.stats.empty.Add(1)
		}
		p.obs.PageFetched(p.opts.Stream, sp.Index, rows, len(page.Data), lat)
		select {
		case p.out <- delivery{Delivery: Delivery{Page: page, Split: sp, Position: np, recycle: o.recycled}, credits: credits}:
		case <-ctx.Done():
			return
		}
		pos = np
	}
	p.stats.splitsDone.Add(1)
	p.obs.SplitDone(p.opts.Stream, sp.Index, pos.Pages, pos.Rows)
	// Keep the concurrency slot until the consumer has taken every page of
	// this split, so the delivery channel never holds more than
	// Concurrency×Prefetch pages.
	for range d {
		select {
		case <-credits:
		case <-ctx.Done():
			return
		}
	}
}

// reuse gives the builder the buffers of a page released by the consumer,
// if one is waiting and it is at least as large as the last page built
// (else the builder's own allocation, sized like the last page, is
// better: a smaller buffer would be regrown step by step). It is called
// only while the builder holds no buffers (Recycle's buffers are taken at
// the next Reset).
func (o *splitOwner) reuse() {
	select {
	case pg := <-o.recycled:
		if cap(pg.Data) >= o.lastData && cap(pg.Offsets) > o.lastRows {
			o.b.Recycle(pg)
		}
	default:
	}
}

// inflight is one page request running on a helper goroutine. The helper
// only waits for the page rate limiter (for a first attempt) and performs
// Source.Request; it hands the result to the split's owner on done and
// exits. The owner takes the result with wait or drops it with discard,
// and does one or the other before it exits, so the helper never outlives
// the split.
type inflight struct {
	cancel context.CancelFunc // cancels the request (and the rate limiter wait)
	done   chan requested     // capacity 1: the helper never blocks on it
}

// requested is the outcome of one Source.Request.
type requested struct {
	resp Response      // nil if err != nil
	lat  time.Duration // from sending the request to its response
	err  error
}

// request sends req on a helper goroutine. paced: first wait for the page
// rate limiter (the first attempt of a page; retries are not paced).
func (p *Pager) request(ctx context.Context, req Request, paced bool) *inflight {
	ctx, cancel := context.WithCancel(ctx)
	f := &inflight{cancel: cancel, done: make(chan requested, 1)}
	go func() {
		if paced && p.pageLim != nil {
			if err := p.pageLim.Wait(ctx); err != nil {
				f.done <- requested{err: fmt.Errorf("pager: waiting for the page rate limit: %w", err)}
				return
			}
		}
		rctx, rcancel := context.WithTimeout(ctx, p.opts.PageTimeout)
		t0 := time.Now()
		resp, err := p.src.Request(rctx, req)
		lat := time.Since(t0)
		rcancel()
		if err != nil && resp != nil {
			resp.Close()
			resp = nil
		}
		if err == nil && resp == nil {
			err = errors.New("pager: source returned neither a response nor an error")
		}
		f.done <- requested{resp: resp, lat: lat, err: err}
	}()
	return f
}

// wait returns the request's outcome; the caller owns the response.
func (f *inflight) wait() requested {
	r := <-f.done
	f.cancel()
	return r
}

// discard cancels the request, waits for its helper to finish and releases
// the response if one arrived. A nil f is no request: nothing to do.
func (f *inflight) discard() {
	if f == nil {
		return
	}
	f.cancel()
	if r := <-f.done; r.resp != nil {
		r.resp.Close()
	}
}

// waitRows waits for n row tokens of the rate limiter, in bursts.
func (p *Pager) waitRows(ctx context.Context, n int) error {
	burst := p.rowLim.Burst()
	for n > 0 {
		k := min(n, burst)
		if err := p.rowLim.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// fetch reads the page after pos, retrying retryable errors with the same
// paging state. o.ahead, if not nil, is that page's request, already in
// flight: it is the first attempt. As soon as the page's response has
// arrived, and before it is decoded, fetch sends the request of the page
// after it (its paging state is known then) and leaves it in o.ahead; a
// failed decode discards that request, since the page is then requested
// again. fetch returns ctx's error when ctx ends, a *FetchError when the
// page cannot be read.
func (p *Pager) fetch(ctx context.Context, o *splitOwner, pos Position) (*abi.Page, []byte, time.Duration, error) {
	sp, b := o.sp, o.b
	req := Request{Split: sp, State: pos.PageState, PageSize: p.opts.PageSize, Page: pos.Pages + 1}
	for attempt := 1; ; attempt++ {
		f := o.ahead
		o.ahead = nil
		if f == nil {
			f = p.request(ctx, req, attempt == 1)
		}
		r := f.wait()
		err := r.err
		if err == nil {
			next := bytes.Clone(r.resp.Next())
			if len(next) > 0 {
				o.ahead = p.request(ctx, Request{Split: sp, State: bytes.Clone(next), PageSize: p.opts.PageSize, Page: req.Page + 1}, true)
			}
			if !o.holding {
				o.reuse() // before Reset gives the builder buffers
				o.holding = true
			}
			b.Reset(nil, 0, uint32(sp.Index))
			t0 := time.Now()
			err = r.resp.Decode(ctx, b)
			lat := r.lat + time.Since(t0)
			if err == nil {
				page := b.Page()
				if page.Schema == nil {
					err = errors.New("pager: source returned a page without a schema (Decode must Reset the builder with the page's schema)")
					return nil, nil, 0, p.fetchError(sp, pos, attempt, false, err)
				}
				page.Split = uint32(sp.Index)
				o.holding = false // the page took the builder's buffers
				o.lastRows, o.lastData = page.NumRows(), len(page.Data)
				return page, next, lat, nil
			}
			// The page is requested again, and the page after it with the
			// state of the new response.
			o.ahead.discard()
			o.ahead = nil
		}
		if ctx.Err() != nil {
			return nil, nil, 0, ctx.Err()
		}
		retryable := IsRetryable(err)
		if !retryable || attempt > p.opts.Retries {
			return nil, nil, 0, p.fetchError(sp, pos, attempt, retryable, err)
		}
		wait := p.backoff(attempt)
		p.stats.retries.Add(1)
		p.obs.FetchRetry(p.opts.Stream, sp.Index, attempt, wait, err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil, 0, ctx.Err()
		}
	}
}

func (p *Pager) fetchError(sp Split, pos Position, attempts int, retryable bool, err error) *FetchError {
	return &FetchError{Stream: p.opts.Stream, Split: sp, Page: pos.Pages + 1, Attempts: attempts,
		Retryable: retryable, Resume: pos.Clone(), Err: err}
}

// backoff returns the wait before retry n (1-based): an exponential step
// min(max, base×2^(n-1)), half of it fixed and half random (jitter), so
// retries of many splits do not hit a recovering node in lockstep.
func (p *Pager) backoff(n int) time.Duration {
	d := p.opts.BackoffBase
	for i := 1; i < n && d < p.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.opts.BackoffMax)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// numberBase returns the page number the run started after.
func (p *Pager) numberBase() uint64 { return p.base }
