package pager

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testutil"
)

// The fence against the real node: lightweight transactions with a TTL.
// What the lease table holds is read back with plain CQL, not through
// CassandraLeases.
func TestIntegrationLeaseFence(t *testing.T) {
	s := itSession(t)
	defer leakCheck(t)()
	ctx := context.Background()
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+itKeyspace+".fence_leases")
	store, err := NewCassandraLeases(ctx, s, itKeyspace, "fence_leases", 0)
	if err != nil {
		t.Fatal(err)
	}
	row := func(name string) (holder string, ttl int) {
		t.Helper()
		if err := s.Query("SELECT holder, TTL(holder) FROM "+itKeyspace+".fence_leases WHERE name = ?", name).Scan(&holder, &ttl); err != nil {
			return "", 0
		}
		return holder, ttl
	}
	const ttl = 6 * time.Second

	t.Run("second_process_refused_then_released", func(t *testing.T) {
		a, err := AcquireLease(ctx, store, "s/shard 0/4", LeaseOptions{TTL: ttl, Holder: "pod-a"})
		if err != nil {
			t.Fatal(err)
		}
		if h, left := row("s/shard 0/4"); h != "pod-a" || left < 1 || left > 6 {
			t.Fatalf("row: holder %q, TTL %d", h, left)
		}
		_, err = AcquireLease(ctx, store, "s/shard 0/4", LeaseOptions{TTL: ttl, Holder: "pod-b"})
		if !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), `held by "pod-a"`) {
			t.Fatalf("second holder: %v", err)
		}
		// Renewed past its first TTL, still held, still pod-a's.
		time.Sleep(ttl + time.Second)
		if err := a.Check(); err != nil {
			t.Fatalf("after %s: %v", ttl+time.Second, err)
		}
		if h, left := row("s/shard 0/4"); h != "pod-a" || left < 1 {
			t.Fatalf("row after renewals: holder %q, TTL %d", h, left)
		}
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if h, _ := row("s/shard 0/4"); h != "" {
			t.Fatalf("Close left holder %q", h)
		}
		b, err := AcquireLease(ctx, store, "s/shard 0/4", LeaseOptions{TTL: ttl, Holder: "pod-b"})
		if err != nil {
			t.Fatalf("after release: %v", err)
		}
		b.Close(ctx)
	})

	t.Run("stolen", func(t *testing.T) {
		a, err := AcquireLease(ctx, store, "s/shard 1/4", LeaseOptions{TTL: ttl, Holder: "pod-a"})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close(ctx)
		testutil.Exec(t, s, "UPDATE "+itKeyspace+".fence_leases USING TTL 60 SET holder = 'thief' WHERE name = 's/shard 1/4'")
		select {
		case <-a.Lost():
		case <-time.After(3 * ttl):
			t.Fatal("the holder never noticed")
		}
		if err := a.Check(); !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), `now held by "thief"`) {
			t.Fatalf("err = %v", err)
		}
		a.Close(ctx)
		if h, _ := row("s/shard 1/4"); h != "thief" {
			t.Fatalf("the stale holder released the thief's lease: holder %q", h)
		}
	})

	t.Run("expired_while_renewer_stalled", func(t *testing.T) {
		stalled := LeaseOptions{TTL: 3 * time.Second, Holder: "pod-a", sleep: func(ctx context.Context, d time.Duration) { <-ctx.Done() }}
		a, err := AcquireLease(ctx, store, "s/shard 2/4", stalled)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close(ctx)
		start := time.Now()
		// The stale holder's committer, checking as it would before each page.
		stopped := make(chan time.Time, 1)
		go func() {
			for a.Check() == nil {
				time.Sleep(5 * time.Millisecond)
			}
			stopped <- time.Now()
		}()
		b, err := AcquireLease(ctx, store, "s/shard 2/4", LeaseOptions{TTL: ttl, Holder: "pod-b", Wait: 10 * time.Second})
		if err != nil {
			t.Fatalf("the waiter never got the expired lease: %v", err)
		}
		taken := time.Now()
		defer b.Close(ctx)
		took := taken.Sub(start)
		select {
		case at := <-stopped:
			if !at.Before(taken) {
				t.Fatalf("the stale holder stopped %s after the lease was taken", at.Sub(taken))
			}
			t.Logf("stale holder stopped at +%s, lease taken at +%s", at.Sub(start).Round(time.Millisecond), took.Round(time.Millisecond))
		case <-time.After(time.Second):
			t.Fatal("the stale holder never stopped")
		}
		// Cassandra's expiry is in whole seconds: a 3s TTL ends 2 to 3s
		// after the write.
		if took < 2*time.Second {
			t.Fatalf("taken after %s: before the 3s TTL ran out", took)
		}
		// By then the stalled holder's local deadline has passed: it stops.
		if err := a.Check(); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("stale holder after %s: %v", took, err)
		}
		if h, _ := row("s/shard 2/4"); h != "pod-b" {
			t.Fatalf("holder %q", h)
		}
	})
}
