package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// upstream is a test server: for every connection it writes payload, then
// echoes what it reads until the client closes.
type upstream struct {
	ln      net.Listener
	payload []byte
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newUpstream(t *testing.T, payload []byte) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln, payload: payload}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns = append(u.conns, c)
			u.mu.Unlock()
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer c.Close()
				if _, err := c.Write(u.payload); err != nil {
					return
				}
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		u.mu.Lock()
		for _, c := range u.conns {
			c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

func (u *upstream) addr() string { return u.ln.Addr().String() }

func listen(t *testing.T, up string) *Proxy {
	t.Helper()
	p, err := Listen("127.0.0.1:0", up)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestForwardsBothWays(t *testing.T) {
	want := payload(200_000)
	u := newUpstream(t, want)
	p := listen(t, u.addr())
	c := dial(t, p)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("payload corrupted")
	}
	// Echo: what we send comes back.
	msg := []byte("ping through the proxy")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, len(msg))
	if _, err := io.ReadFull(c, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, msg) {
		t.Fatalf("echo %q", back)
	}
	st := p.Stats()
	if st.Accepted != 1 || st.Open != 1 || st.BytesDown != int64(len(want)+len(msg)) || st.BytesUp != int64(len(msg)) {
		t.Fatalf("stats %+v", st)
	}
}

// TestDropAtThreshold: a Drop rule cuts the stream at exactly AfterBytes.
func TestDropAtThreshold(t *testing.T) {
	u := newUpstream(t, payload(100_000))
	p := listen(t, u.addr())
	fired := p.Inject(Rule{AfterBytes: 12_345, Fault: Drop})
	c := dial(t, p)
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (a drop is an orderly close)", err)
	}
	if len(got) != 12_345 || !bytes.Equal(got, payload(100_000)[:12_345]) {
		t.Fatalf("got %d bytes before the drop, want exactly 12345", len(got))
	}
	<-fired
	ev := p.Events()
	if len(ev) != 1 || ev[0].Fault != Drop || ev[0].Bytes != 12_345 || ev[0].Conns != 1 || ev[0].Cause != "after 12345 bytes" {
		t.Fatalf("events %v", ev)
	}
	// The proxy keeps serving new connections after a drop.
	c2 := dial(t, p)
	b := make([]byte, 10)
	if _, err := io.ReadFull(c2, b); err != nil {
		t.Fatal(err)
	}
}

// TestResetAtThreshold: a Reset rule aborts the connection: the client
// sees ECONNRESET, after at most AfterBytes bytes.
func TestResetAtThreshold(t *testing.T) {
	u := newUpstream(t, nil) // echo only: nothing flows before we write
	p := listen(t, u.addr())
	c := dial(t, p)
	fired := p.Inject(Rule{AfterBytes: 5000, Fault: Reset})
	go func() { _, _ = c.Write(payload(100_000)) }()
	<-fired
	got, err := io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after reset: %v, want ECONNRESET", err)
	}
	if len(got) > 5000 {
		t.Fatalf("read %d bytes, more than the 5000 forwarded", len(got))
	}
}

// TestResetCommand: Reset with nothing pending aborts every open
// connection, and Refuse resets new ones until turned off.
func TestResetCommandAndRefuse(t *testing.T) {
	u := newUpstream(t, payload(10))
	p := listen(t, u.addr())
	c1, c2 := dial(t, p), dial(t, p)
	for _, c := range []net.Conn{c1, c2} {
		if _, err := io.ReadFull(c, make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
	}
	p.Refuse(true)
	if ev := p.Reset(); ev.Conns != 2 {
		t.Fatalf("reset %d connections, want 2", ev.Conns)
	}
	for _, c := range []net.Conn{c1, c2} {
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read after reset: %v", err)
		}
	}
	// A refused connection is reset at once: the dial itself may see it.
	if c3, err := net.Dial("tcp", p.Addr()); err == nil {
		if n, err := c3.Read(make([]byte, 10)); err == nil || n != 0 {
			t.Fatalf("refused connection read %d bytes, err %v", n, err)
		}
		c3.Close()
	}
	p.Refuse(false)
	c4 := dial(t, p)
	if _, err := io.ReadFull(c4, make([]byte, 10)); err != nil {
		t.Fatalf("after Refuse(false): %v", err)
	}
	if st := p.Stats(); st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestStall: nothing is forwarded during a stall, in either direction,
// and nothing is lost: after Resume every byte arrives in order.
func TestStall(t *testing.T) {
	want := payload(50_000)
	u := newUpstream(t, want)
	p := listen(t, u.addr())
	fired := p.Inject(Rule{AfterBytes: 1000, Fault: Stall, Stall: time.Hour})
	c := dial(t, p)
	<-fired
	first := make([]byte, 1000)
	if _, err := io.ReadFull(c, first); err != nil {
		t.Fatal(err)
	}
	// Stalled: no further byte arrives, however long we wait.
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during a stall: %d bytes, %v", n, err)
	}
	_ = c.SetReadDeadline(time.Time{})
	p.Resume()
	rest := make([]byte, len(want)-1000)
	if _, err := io.ReadFull(c, rest); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(first, rest...), want) {
		t.Fatal("bytes lost or reordered across the stall")
	}
}

// TestCloseIdempotent: Close ends every goroutine (TestMain checks for
// leaks) and may be called twice; pending rules never fire.
func TestCloseIdempotent(t *testing.T) {
	u := newUpstream(t, payload(10))
	p, err := Listen("127.0.0.1:0", u.addr())
	if err != nil {
		t.Fatal(err)
	}
	fired := p.Inject(Rule{AfterBytes: 1 << 40, Fault: Drop})
	c := dial(t, p)
	if _, err := io.ReadFull(c, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fired:
		t.Fatal("a pending rule fired at Close")
	default:
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after Close")
	}
}

// TestUpstreamDown: when the upstream refuses, the client's connection is
// closed and the failure counted.
func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := listen(t, addr)
	c := dial(t, p)
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("read %d, %v", n, err)
	}
	for p.Stats().DialErrors == 0 {
		time.Sleep(5 * time.Millisecond)
	}
}
