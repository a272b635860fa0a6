package pager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// The fence: a lease per stream and shard, so that two processes never run
// the same shard of the same stream (Kubernetes can briefly run two pods
// for one index of an Indexed Job; an operator can start a shard twice).
//
// A lease is a row of a LeaseStore with a holder and a TTL. AcquireLease
// takes it when nobody holds it (or waits, up to a bound, for the holder
// to let go or to die and its row to expire) and starts one goroutine, the
// renewer, that extends it every TTL/4 while the process runs (sooner after
// a failed attempt). The
// committer asks Lease.Check before every sink write and every checkpoint:
// Check reads two atomics the renewer writes (no lock, no I/O on the hot
// path) and fails once the lease was taken by another holder or could not
// be renewed in time, so a stale holder stops before it writes another
// page.
//
// Why a local deadline as well as the renewer's verdict: a renewer that is
// slow (a partitioned node, a stalled process) must not let its process
// write on after its row expired and another process took the lease. Each
// renewal that succeeds moves the deadline to the time the renewal was
// *sent* plus TTL minus a guard: the server's TTL starts when it applies
// the write, which is later, so the process stops believing in its lease
// before the row can expire and be taken, whatever the renewer is doing.
// The guard is 1s + TTL/10: Cassandra computes a cell's expiry in whole
// seconds (the write's second, truncated, plus the TTL), so a row can
// expire up to a second before sent+TTL (the integration test caught
// exactly that); TTL/10 covers the clock skew between the replicas that
// judge expiry and one write begun just before the deadline.

// ErrLeaseHeld is wrapped by the error of AcquireLease when another
// process holds the lease; ErrLeaseLost by Lease.Check once the lease is
// no longer this process's.
var (
	ErrLeaseHeld = errors.New("the lease is held by another process")
	ErrLeaseLost = errors.New("the lease was lost")
)

// LeaseState is what a LeaseStore says about a lease after an operation.
type LeaseState struct {
	// Held: the operation applied; the caller holds the lease.
	Held bool
	// Holder and Since describe the current holder when Held is false
	// (Holder "" = nobody: the row expired or was released).
	Holder string
	Since  time.Time
}

// LeaseStore keeps leases: rows with a holder and a time to live, changed
// only by compare-and-set. CassandraLeases is the implementation; tests
// use fakes.
type LeaseStore interface {
	// Acquire creates the lease for holder, for ttl, if nobody holds it.
	Acquire(ctx context.Context, name, holder string, since time.Time, ttl time.Duration) (LeaseState, error)
	// Renew extends the lease by ttl if holder still holds it.
	Renew(ctx context.Context, name, holder string, since time.Time, ttl time.Duration) (LeaseState, error)
	// Release deletes the lease if holder holds it.
	Release(ctx context.Context, name, holder string) error
	// Holder reads who holds the lease ("" = nobody).
	Holder(ctx context.Context, name string) (LeaseState, error)
}

// LeaseOptions configure AcquireLease.
type LeaseOptions struct {
	// TTL is the lease's time to live; it is renewed every TTL/4. > 0.
	TTL time.Duration
	// Wait is how long AcquireLease waits for a held lease before it
	// returns an error wrapping ErrLeaseHeld; 0 = not at all.
	Wait time.Duration
	// Holder identifies this process in the lease (and in the errors of
	// the others); "" = HolderID().
	Holder string
	// Logger receives renewal failures; nil = discard.
	Logger *slog.Logger

	now   func() time.Time                           // tests; nil = time.Now
	sleep func(ctx context.Context, d time.Duration) // tests; nil = a timer
}

// LeaseName is the name of the lease of a stream's shard.
func LeaseName(stream string, shard Shard) string {
	return stream + "/shard " + shard.String()
}

// HolderID names this process in a lease: the host name (the pod's name
// on Kubernetes), the process id and the start time, so that a restarted
// process is another holder than the one it replaces.
func HolderID() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s pid %d started %s", h, os.Getpid(), time.Now().UTC().Format(time.RFC3339Nano))
}

// LeaseError says why a lease could not be taken or was lost.
type LeaseError struct {
	Name   string    // the lease
	Holder string    // the process holding it now ("" = unknown or nobody)
	Since  time.Time // when Holder took it (zero = unknown)
	Waited time.Duration
	Reason string // for a lost lease: how it was lost
	lost   bool
}

func (e *LeaseError) Error() string {
	if e.lost {
		return fmt.Sprintf("fence: lost the lease %q: %s; stopping before writing another page or checkpoint (another process may now run this shard; rerun to resume from the last checkpoint once it is free)", e.Name, e.Reason)
	}
	since := ""
	if !e.Since.IsZero() {
		since = " since " + e.Since.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("fence: the lease %q is held by %q%s (waited %s): another process runs this shard of this stream; refusing to run it twice (stop the other process, or wait for its lease to expire; [checkpoint] lease_wait makes a run wait for it)",
		e.Name, e.Holder, since, e.Waited)
}

// Unwrap makes errors.Is match ErrLeaseHeld or ErrLeaseLost.
func (e *LeaseError) Unwrap() error {
	if e.lost {
		return ErrLeaseLost
	}
	return ErrLeaseHeld
}

// Lease is a lease this process holds. Its renewer goroutine owns the
// renewals and is the only writer of lost and deadline; Check and Lost
// may be called from any goroutine. Close ends the renewer and releases
// the lease.
type Lease struct {
	store  LeaseStore
	name   string
	holder string
	since  time.Time
	ttl    time.Duration
	log    *slog.Logger
	now    func() time.Time
	sleep  func(context.Context, time.Duration)

	waitedSince time.Time // when AcquireLease found it held and began to wait; zero = it was free

	deadline atomic.Int64               // unix ns until which the lease is ours, by the last renewal sent
	lostErr  atomic.Pointer[LeaseError] // set once, by the renewer
	lostCh   chan struct{}              // closed when lostErr is set

	cancel    context.CancelFunc
	done      chan struct{} // closed when the renewer returned
	closeOnce sync.Once
	closeErr  error
}

// AcquireLease takes the lease name for this process, waiting up to
// opts.Wait while another process holds it, and starts renewing it.
func AcquireLease(ctx context.Context, store LeaseStore, name string, opts LeaseOptions) (*Lease, error) {
	if opts.TTL <= 0 {
		return nil, fmt.Errorf("pager: lease %q: TTL %s must be > 0", name, opts.TTL)
	}
	l := &Lease{store: store, name: name, holder: opts.Holder, ttl: opts.TTL, log: opts.Logger, now: opts.now, sleep: opts.sleep,
		lostCh: make(chan struct{}), done: make(chan struct{})}
	if l.holder == "" {
		l.holder = HolderID()
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.sleep == nil {
		l.sleep = sleepCtx
	}
	start := l.now()
	l.since = start.UTC().Truncate(time.Millisecond)
	for {
		sent := l.now()
		st, err := store.Acquire(ctx, name, l.holder, l.since, l.ttl)
		if err != nil {
			return nil, fmt.Errorf("fence: taking the lease %q: %w", name, err)
		}
		if st.Held {
			l.deadline.Store(l.validUntil(sent))
			break
		}
		if l.waitedSince.IsZero() {
			l.waitedSince = start
		}
		waited := l.now().Sub(start)
		if waited >= opts.Wait {
			return nil, &LeaseError{Name: name, Holder: st.Holder, Since: st.Since, Waited: waited.Round(time.Millisecond)}
		}
		l.sleep(ctx, min(l.ttl/4, opts.Wait-waited))
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fence: waiting for the lease %q held by %q: %w", name, st.Holder, err)
		}
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	go l.renew(rctx)
	return l, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// validUntil is the local deadline after a renewal sent at sent.
func (l *Lease) validUntil(sent time.Time) int64 {
	return sent.Add(l.ttl - LeaseGuard(l.ttl)).UnixNano()
}

// LeaseGuard is how long before sent+TTL a holder stops trusting a
// renewal sent at sent: 1s (Cassandra's expiry is in whole seconds) plus
// TTL/10.
func LeaseGuard(ttl time.Duration) time.Duration { return time.Second + ttl/10 }

// renew is the renewer goroutine: every TTL/4 it extends the lease (half
// that after a failed attempt, each attempt bounded by TTL/4), so that a
// lease of TTL t gets about three attempts before its local deadline; it
// stops when the lease is taken by another holder or has expired.
func (l *Lease) renew(ctx context.Context) {
	defer close(l.done)
	every := l.ttl / 4
	wait := every
	var lastErr error
	for {
		l.sleep(ctx, wait)
		wait = every
		if ctx.Err() != nil {
			return
		}
		sent := l.now()
		if sent.UnixNano() >= l.deadline.Load() {
			reason := fmt.Sprintf("it was not renewed within its TTL of %s", l.ttl)
			if lastErr != nil {
				reason += fmt.Sprintf(" (last renewal error: %v)", lastErr)
			}
			l.lose(LeaseState{}, reason)
			return
		}
		rctx, cancel := context.WithTimeout(ctx, every)
		st, err := l.store.Renew(rctx, l.name, l.holder, l.since, l.ttl)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// Transient: the local deadline stops the writes if it lasts.
			lastErr = err
			wait = every / 2
			l.log.Warn("fence: renewing the lease failed; retrying", "lease", l.name, "err", err)
		case st.Held:
			lastErr = nil
			l.deadline.Store(l.validUntil(sent))
		default:
			reason := "its row expired before it was renewed"
			if st.Holder != "" {
				reason = fmt.Sprintf("it is now held by %q", st.Holder)
				if !st.Since.IsZero() {
					reason += " since " + st.Since.UTC().Format(time.RFC3339)
				}
			}
			l.lose(st, reason)
			return
		}
	}
}

func (l *Lease) lose(st LeaseState, reason string) {
	l.lostErr.Store(&LeaseError{Name: l.name, Holder: st.Holder, Since: st.Since, Reason: reason, lost: true})
	close(l.lostCh)
	l.log.Error("fence: lost the lease; the stream stops before its next page", "lease", l.name, "reason", reason)
}

// Check returns nil while the lease is this process's, else an error
// wrapping ErrLeaseLost. It reads two atomics: safe and cheap on the hot
// path, from any goroutine.
func (l *Lease) Check() error {
	if e := l.lostErr.Load(); e != nil {
		return e
	}
	if now := l.now(); now.UnixNano() >= l.deadline.Load() {
		return &LeaseError{Name: l.name, Reason: fmt.Sprintf("it was not renewed within its TTL of %s (the renewer is late or cannot reach Cassandra)", l.ttl), lost: true}
	}
	return nil
}

// Lost is closed when the renewer finds the lease lost; Check also fails
// when the local deadline passes before that.
func (l *Lease) Lost() <-chan struct{} { return l.lostCh }

// WaitedSince returns when AcquireLease began to wait for this lease held
// by another process; zero when it was free at once.
func (l *Lease) WaitedSince() time.Time { return l.waitedSince }

// Name returns the lease's name; Holder this process's id in it.
func (l *Lease) Name() string   { return l.name }
func (l *Lease) Holder() string { return l.holder }

// Close stops the renewer and releases the lease (unless it was lost), so
// that the next process for this shard need not wait for the TTL.
// Idempotent.
func (l *Lease) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.cancel()
		<-l.done
		if l.lostErr.Load() != nil {
			return
		}
		if err := l.store.Release(ctx, l.name, l.holder); err != nil {
			l.closeErr = fmt.Errorf("fence: releasing the lease %q (it expires by itself within %s): %w", l.name, l.ttl, err)
		}
	})
	return l.closeErr
}

// LeaseTable is the name of the table of CassandraLeases.
const LeaseTable = "sluice_leases"

// CassandraLeases keeps leases in the table sluice_leases of a keyspace,
// one row per lease, each change a lightweight transaction (Paxos, serial
// consistency of the session) and each row written with a TTL: INSERT ...
// IF NOT EXISTS USING TTL takes a free lease, UPDATE ... USING TTL ... IF
// holder = me renews it, DELETE ... IF holder = me releases it. An
// expired row is absent, so IF NOT EXISTS succeeds on it and the old
// holder's IF holder = me fails. Safe for concurrent use.
type CassandraLeases struct {
	session     *gocql.Session
	table       string
	consistency gocql.Consistency
}

// NewCassandraLeases returns the leases of keyspace.table (table "" =
// LeaseTable), creating the table if it is missing (the keyspace must
// exist). consistency is the commit consistency of the transactions
// (Any = LOCAL_QUORUM).
func NewCassandraLeases(ctx context.Context, s *gocql.Session, keyspace, table string, consistency gocql.Consistency) (*CassandraLeases, error) {
	if table == "" {
		table = LeaseTable
	}
	if keyspace == "" {
		return nil, errors.New("pager: lease table: no keyspace")
	}
	if consistency == gocql.Any {
		consistency = gocql.LocalQuorum
	}
	c := &CassandraLeases{session: s, table: quoteIdent(keyspace) + "." + quoteIdent(table), consistency: consistency}
	ddl := "CREATE TABLE IF NOT EXISTS " + c.table + ` (
	name text PRIMARY KEY,
	holder text,
	since timestamp,
	renewed_at timestamp
) WITH comment = 'sluice leases: one per stream and shard, held by the process running it (lightweight transactions with a TTL)'`
	if err := s.Query(ddl).WithContext(ctx).Exec(); err != nil {
		return nil, fmt.Errorf("pager: creating %s.%s: %w", keyspace, table, err)
	}
	return c, nil
}

// Table returns keyspace.table.
func (c *CassandraLeases) Table() string { return c.table }

func ttlSeconds(ttl time.Duration) int {
	return max(1, int((ttl+time.Second-1)/time.Second))
}

func (c *CassandraLeases) cas(ctx context.Context, what, name, stmt string, args ...any) (LeaseState, error) {
	prev := map[string]any{}
	applied, err := c.session.Query(stmt, args...).WithContext(ctx).Consistency(c.consistency).MapScanCAS(prev)
	if err != nil {
		return LeaseState{}, fmt.Errorf("%s lease %q in %s: %w", what, name, c.table, err)
	}
	if applied {
		return LeaseState{Held: true}, nil
	}
	st := LeaseState{}
	if h, ok := prev["holder"].(string); ok {
		st.Holder = h
	}
	if t, ok := prev["since"].(time.Time); ok {
		st.Since = t
	}
	return st, nil
}

// Acquire implements LeaseStore.
func (c *CassandraLeases) Acquire(ctx context.Context, name, holder string, since time.Time, ttl time.Duration) (LeaseState, error) {
	return c.cas(ctx, "taking", name, "INSERT INTO "+c.table+" (name, holder, since, renewed_at) VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?",
		name, holder, since, time.Now(), ttlSeconds(ttl))
}

// Renew implements LeaseStore.
func (c *CassandraLeases) Renew(ctx context.Context, name, holder string, since time.Time, ttl time.Duration) (LeaseState, error) {
	return c.cas(ctx, "renewing", name, "UPDATE "+c.table+" USING TTL ? SET holder = ?, since = ?, renewed_at = ? WHERE name = ? IF holder = ?",
		ttlSeconds(ttl), holder, since, time.Now(), name, holder)
}

// Release implements LeaseStore.
func (c *CassandraLeases) Release(ctx context.Context, name, holder string) error {
	_, err := c.cas(ctx, "releasing", name, "DELETE FROM "+c.table+" WHERE name = ? IF holder = ?", name, holder)
	return err
}

// Holder implements LeaseStore.
func (c *CassandraLeases) Holder(ctx context.Context, name string) (LeaseState, error) {
	var st LeaseState
	err := c.session.Query("SELECT holder, since FROM "+c.table+" WHERE name = ?", name).WithContext(ctx).
		Consistency(gocql.Serial).Scan(&st.Holder, &st.Since)
	if errors.Is(err, gocql.ErrNotFound) {
		return LeaseState{}, nil
	}
	if err != nil {
		return LeaseState{}, fmt.Errorf("reading lease %q in %s: %w", name, c.table, err)
	}
	return st, nil
}

// DeleteLease removes a lease whatever its holder (tests, and operators
// through CQL: DELETE FROM keyspace.sluice_leases WHERE name = '...').
func (c *CassandraLeases) DeleteLease(ctx context.Context, name string) error {
	return c.session.Query("DELETE FROM "+c.table+" WHERE name = ? IF EXISTS", name).WithContext(ctx).Exec()
}

// String names the table, for messages.
func (c *CassandraLeases) String() string { return strings.TrimSpace(c.table) }
