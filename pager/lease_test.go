package pager

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLeases is a LeaseStore in memory with a clock of its own: a lease
// expires when the clock passes its TTL, as a Cassandra row does.
type fakeLeases struct {
	mu       sync.Mutex
	now      time.Time
	rows     map[string]fakeLease
	renewErr error // returned by Renew while set
	renews   int
}

type fakeLease struct {
	holder  string
	since   time.Time
	expires time.Time
}

func newFakeLeases() *fakeLeases {
	return &fakeLeases{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), rows: map[string]fakeLease{}}
}

func (f *fakeLeases) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeLeases) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fakeLeases) live(name string) (fakeLease, bool) {
	r, ok := f.rows[name]
	if ok && !f.now.Before(r.expires) {
		delete(f.rows, name)
		return fakeLease{}, false
	}
	return r, ok
}

func (f *fakeLeases) Acquire(_ context.Context, name, holder string, since time.Time, ttl time.Duration) (LeaseState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.live(name); ok {
		return LeaseState{Holder: r.holder, Since: r.since}, nil
	}
	f.rows[name] = fakeLease{holder, since, f.now.Add(ttl)}
	return LeaseState{Held: true}, nil
}

func (f *fakeLeases) Renew(_ context.Context, name, holder string, since time.Time, ttl time.Duration) (LeaseState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renews++
	if f.renewErr != nil {
		return LeaseState{}, f.renewErr
	}
	r, ok := f.live(name)
	if !ok || r.holder != holder {
		return LeaseState{Holder: r.holder, Since: r.since}, nil
	}
	f.rows[name] = fakeLease{holder, since, f.now.Add(ttl)}
	return LeaseState{Held: true}, nil
}

func (f *fakeLeases) Release(_ context.Context, name, holder string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.live(name); ok && r.holder == holder {
		delete(f.rows, name)
	}
	return nil
}

func (f *fakeLeases) Holder(_ context.Context, name string) (LeaseState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, _ := f.live(name)
	return LeaseState{Holder: r.holder, Since: r.since}, nil
}

func (f *fakeLeases) steal(name, holder string, ttl time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows[name] = fakeLease{holder, f.now, f.now.Add(ttl)}
}

// stepper drives a lease's sleeps by hand: each sleep advances the fake
// clock by its duration once the test lets it go (tick), so every renewal
// happens at a known time.
type stepper struct {
	f     *fakeLeases
	ticks chan chan struct{}
}

func newStepper(f *fakeLeases) *stepper { return &stepper{f: f, ticks: make(chan chan struct{})} }

func (s *stepper) sleep(ctx context.Context, d time.Duration) {
	select {
	case ack := <-s.ticks:
		s.f.advance(d)
		close(ack)
	case <-ctx.Done():
	}
}

// tick lets one sleep end (advancing the clock by it) and waits until the
// sleeper resumed; settle then waits for the renewal it starts.
func (s *stepper) tick(t *testing.T) {
	t.Helper()
	ack := make(chan struct{})
	select {
	case s.ticks <- ack:
		<-ack
	case <-time.After(10 * time.Second):
		t.Fatal("the lease never slept")
	}
}

// settle waits for the renewer to go back to sleep (or exit): one more
// tick offered must be taken, or the lease lost.
func settle(t *testing.T, l *Lease, s *stepper, f *fakeLeases, renews int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		n := f.renews
		f.mu.Unlock()
		if n >= renews {
			time.Sleep(time.Millisecond)
			return
		}
		select {
		case <-l.Lost():
			return
		case <-time.After(time.Millisecond):
		}
	}
	t.Fatalf("the renewer did not renew %d times", renews)
}

func leaseOpts(f *fakeLeases, s *stepper, holder string) LeaseOptions {
	o := LeaseOptions{TTL: 30 * time.Second, Holder: holder, now: f.clock}
	if s != nil {
		o.sleep = s.sleep
	}
	return o
}

func TestLeaseRenewsAndReleases(t *testing.T) {
	f := newFakeLeases()
	s := newStepper(f)
	l, err := AcquireLease(context.Background(), f, "st/shard 0/2", leaseOpts(f, s, "a"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ { // 5 × 10s: well past the first TTL
		s.tick(t)
		settle(t, l, s, f, i)
		if err := l.Check(); err != nil {
			t.Fatalf("after %d renewals: %v", i, err)
		}
	}
	if st, _ := f.Holder(context.Background(), "st/shard 0/2"); st.Holder != "a" {
		t.Fatalf("holder %q", st.Holder)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if st, _ := f.Holder(context.Background(), "st/shard 0/2"); st.Holder != "" {
		t.Fatalf("Close did not release the lease: holder %q", st.Holder)
	}
}

func TestLeaseSecondHolderRefusedOrWaits(t *testing.T) {
	ctx := context.Background()
	f := newFakeLeases()
	a, err := AcquireLease(ctx, f, "st/shard 1/4", leaseOpts(f, newStepper(f), "pod-a"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)

	// No wait: refused at once, naming the holder.
	_, err = AcquireLease(ctx, f, "st/shard 1/4", leaseOpts(f, nil, "pod-b"))
	var le *LeaseError
	if !errors.Is(err, ErrLeaseHeld) || !errors.As(err, &le) || le.Holder != "pod-a" ||
		!strings.Contains(err.Error(), `the lease "st/shard 1/4" is held by "pod-a"`) || !strings.Contains(err.Error(), "refusing to run it twice") {
		t.Fatalf("err = %v", err)
	}

	// Another shard is another lease.
	c, err := AcquireLease(ctx, f, "st/shard 2/4", leaseOpts(f, nil, "pod-b"))
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)

	// With a wait shorter than the holder's life: refused after it.
	o := leaseOpts(f, nil, "pod-b")
	o.Wait = 25 * time.Second
	slept := time.Duration(0)
	o.sleep = func(ctx context.Context, d time.Duration) {
		if ctx.Done() != nil { // the renewer's: park it until Close
			<-ctx.Done()
			return
		}
		slept += d // the wait of AcquireLease (context.Background)
		f.advance(d)
	}
	// a's renewer is parked on its stepper: its row expires at +30s.
	_, err = AcquireLease(ctx, f, "st/shard 1/4", o)
	if !errors.Is(err, ErrLeaseHeld) || slept != 25*time.Second {
		t.Fatalf("err = %v after sleeping %s", err, slept)
	}
	// Waiting longer: the unrenewed row expires and the waiter takes it.
	o.Wait = time.Minute
	b, err := AcquireLease(ctx, f, "st/shard 1/4", o)
	if err != nil {
		t.Fatalf("the waiter did not take the expired lease: %v", err)
	}
	defer b.Close(ctx)
	// The old holder's own deadline has passed too: it must not write.
	if err := a.Check(); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the old holder still believes in its lease: %v", err)
	}
}

func TestLeaseStolenStopsHolder(t *testing.T) {
	ctx := context.Background()
	f := newFakeLeases()
	s := newStepper(f)
	l, err := AcquireLease(ctx, f, "st/shard 0/1", leaseOpts(f, s, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	s.tick(t)
	settle(t, l, s, f, 1)
	f.steal("st/shard 0/1", "intruder", time.Minute)
	if err := l.Check(); err != nil {
		t.Fatalf("before the renewer noticed: %v", err) // within TTL: still ours locally
	}
	s.tick(t)
	select {
	case <-l.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("Lost not closed")
	}
	err = l.Check()
	if !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), `now held by "intruder"`) || !strings.Contains(err.Error(), "stopping before writing another page") {
		t.Fatalf("err = %v", err)
	}
	// Close must not release the thief's lease.
	l.Close(ctx)
	if st, _ := f.Holder(ctx, "st/shard 0/1"); st.Holder != "intruder" {
		t.Fatalf("holder %q", st.Holder)
	}
}

// A renewer that cannot reach the store keeps retrying; the local deadline
// (TTL − 1s − TTL/10 after the last renewal sent) fails Check before the row
// can expire on the server and be taken by another process.
func TestLeaseLocalDeadlineBeforeExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFakeLeases()
	s := newStepper(f)
	start := f.clock()
	l, err := AcquireLease(ctx, f, "st/shard 0/1", leaseOpts(f, s, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	f.mu.Lock()
	f.renewErr = errors.New("no host available")
	f.mu.Unlock()
	s.tick(t) // +7.5s: renewal fails
	settle(t, l, s, f, 1)
	s.tick(t) // +11.25s (retried sooner): fails again
	settle(t, l, s, f, 2)
	if err := l.Check(); err != nil {
		t.Fatalf("at +11.25s of 30s: %v", err)
	}
	f.advance(start.Add(26 * time.Second).Sub(f.clock())) // +26s: the deadline (30s − 1s − 3s)
	err = l.Check()
	if !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), "not renewed within its TTL") {
		t.Fatalf("at +26s: %v", err)
	}
	// The row itself is still alive: nobody else could have taken it yet.
	if st, _ := f.Holder(ctx, "st/shard 0/1"); st.Holder != "a" {
		t.Fatalf("holder %q: the row expired before the holder stopped", st.Holder)
	}
	s.tick(t) // the renewer sees the deadline passed and gives up
	select {
	case <-l.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("Lost not closed")
	}
	if err := l.Check(); !strings.Contains(err.Error(), "last renewal error: no host available") {
		t.Fatalf("err = %v", err)
	}
}

// Check is called by the committer on every page while the renewer
// writes: the race detector must see no race.
func TestLeaseCheckHammer(t *testing.T) {
	ctx := context.Background()
	f := newFakeLeases()
	s := newStepper(f)
	l, err := AcquireLease(ctx, f, "st", leaseOpts(f, s, "a"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10000 {
				_ = l.Check()
			}
		}()
	}
	for i := 1; i <= 20; i++ {
		s.tick(t)
		settle(t, l, s, f, i)
	}
	wg.Wait()
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	l.Close(ctx)
}
