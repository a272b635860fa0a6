// Package faultproxy is a small TCP proxy for fault-injection tests. It
// forwards every connection it accepts to one upstream address (a
// Cassandra node, in sluice's tests) and can, on command or when a byte
// threshold is crossed, drop the connections (close, FIN), reset them
// (RST, through SO_LINGER 0), stall them (stop forwarding, in both
// directions, for a while; nothing is lost, the bytes wait) or refuse new
// ones (as a node that is down would).
//
// Byte thresholds count the bytes forwarded from upstream to the clients,
// over every connection since Listen: a rule with AfterBytes = n cuts the
// stream at exactly n bytes (in the middle of a protocol frame, usually),
// then fires. Since a page of rows is most of what a Cassandra node sends,
// a threshold of k × (bytes per page) lands in page k.
//
// # Goroutines and what each owns
//
// The accept goroutine owns the listener. Each proxied connection (a link)
// has two copy goroutines, one per direction; the link's two net.Conns are
// closed once, by whichever goroutine or command gets there first. The
// shared state (open links, pending rules, the stall deadline, the refuse
// switch, counters) is guarded by Proxy.mu. Close ends every goroutine and
// waits for them.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what the proxy does to its connections.
type Fault int

// The faults.
const (
	// Drop closes every open connection on both sides (an orderly FIN):
	// the client sees its connection closed, the upstream a client gone.
	Drop Fault = iota + 1
	// Reset aborts every open connection with an RST (SO_LINGER 0): the
	// client sees "connection reset by peer".
	Reset
	// Stall stops forwarding in both directions, on open and new
	// connections, for Rule.Stall (or the duration given to Stall). Bytes
	// are held, not lost: forwarding resumes where it stopped.
	Stall
)

// String returns the fault's name.
func (f Fault) String() string {
	switch f {
	case Drop:
		return "drop"
	case Reset:
		return "reset"
	case Stall:
		return "stall"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Rule is a fault to inject once, when the bytes forwarded from upstream to
// the clients (all connections, since Listen) reach AfterBytes.
type Rule struct {
	AfterBytes int64
	Fault      Fault
	Stall      time.Duration // how long a Stall lasts
}

// Event records one fault the proxy injected.
type Event struct {
	At    time.Time
	Fault Fault
	Cause string        // "command", or "after N bytes"
	Conns int           // connections dropped or reset (open ones, for a stall)
	Bytes int64         // bytes forwarded upstream → clients when it fired
	Stall time.Duration // for a stall
}

// String describes the event for test logs.
func (e Event) String() string {
	s := fmt.Sprintf("%s (%s) at %d bytes down, %d connection(s)", e.Fault, e.Cause, e.Bytes, e.Conns)
	if e.Fault == Stall {
		s += fmt.Sprintf(", for %s", e.Stall)
	}
	return s
}

// Stats are the proxy's counters.
type Stats struct {
	Accepted   int   // connections accepted and forwarded
	Refused    int   // connections refused (Refuse) or whose upstream dial failed
	Open       int   // connections open now
	BytesUp    int64 // bytes forwarded clients → upstream
	BytesDown  int64 // bytes forwarded upstream → clients
	Faults     int   // faults injected (commands and rules)
	DialErrors int   // upstream dials that failed
}

// DialTimeout bounds the dial of the upstream for each accepted connection.
const DialTimeout = 5 * time.Second

// stallPoll is how often a stalled copy checks whether the stall ended
// early (Resume) or was extended.
const stallPoll = 20 * time.Millisecond

// Proxy forwards the connections of a listener to an upstream address,
// injecting faults. Its methods are safe for concurrent use.
type Proxy struct {
	ln       net.Listener
	upstream string

	// mu guards the state shared by the accept goroutine, the copy
	// goroutines and the commands.
	mu struct {
		sync.Mutex
		links      map[*link]struct{} // open links
		rules      []pendingRule      // not yet fired
		stallUntil time.Time          // forwarding waits until then
		refuse     bool               // new connections are reset at once
		down       int64              // bytes reserved for forwarding upstream → clients
		events     []Event
		stats      Stats
		closed     bool
	}
	up        atomic.Int64   // bytes forwarded clients → upstream
	wg        sync.WaitGroup // the accept goroutine and every copy goroutine
	closeOnce sync.Once
}

type pendingRule struct {
	Rule
	fired chan struct{}
}

// link is one proxied connection: client ↔ upstream.
type link struct {
	client, upstream net.Conn
	once             sync.Once
	done             chan struct{} // closed when the link is closed
}

// close closes both connections, with an RST when reset is true. It is
// idempotent; the first call decides FIN or RST.
func (l *link) close(reset bool) {
	l.once.Do(func() {
		if reset {
			for _, c := range []net.Conn{l.client, l.upstream} {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
			}
		}
		_ = l.client.Close()
		_ = l.upstream.Close()
		close(l.done)
	})
}

// Listen starts a proxy listening on addr ("127.0.0.1:0" for a random
// port) that forwards to upstream ("host:port").
func Listen(addr, upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen on %s: %w", addr, err)
	}
	p := &Proxy{ln: ln, upstream: upstream}
	p.mu.links = map[*link]struct{}{}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the address clients connect to ("127.0.0.1:40123").
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Upstream returns the address the proxy forwards to.
func (p *Proxy) Upstream() string { return p.upstream }

// Close stops the listener, closes every connection and waits for every
// goroutine of the proxy. Pending rules never fire. It is idempotent.
func (p *Proxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.mu.closed = true
		links := p.linksLocked()
		p.mu.Unlock()
		err = p.ln.Close()
		for _, l := range links {
			l.close(false)
		}
		p.wg.Wait()
	})
	return err
}

func (p *Proxy) linksLocked() []*link {
	out := make([]*link, 0, len(p.mu.links))
	for l := range p.mu.links {
		out = append(out, l)
	}
	return out
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary accept errors (EMFILE...): back off a little.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		refuse, closed := p.mu.refuse, p.mu.closed
		if refuse {
			p.mu.stats.Refused++
		}
		p.mu.Unlock()
		if refuse || closed {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// serve dials the upstream for client c and starts the two copies.
func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	u, err := net.DialTimeout("tcp", p.upstream, DialTimeout)
	if err != nil {
		p.mu.Lock()
		p.mu.stats.DialErrors++
		p.mu.stats.Refused++
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	l := &link{client: c, upstream: u, done: make(chan struct{})}
	p.mu.Lock()
	if p.mu.closed {
		p.mu.Unlock()
		l.close(false)
		return
	}
	p.mu.links[l] = struct{}{}
	p.mu.stats.Accepted++
	p.mu.Unlock()
	p.wg.Add(2)
	go p.copyUp(l)
	go p.copyDown(l)
	<-l.done
	p.mu.Lock()
	delete(p.mu.links, l)
	p.mu.Unlock()
}

// copyUp forwards client → upstream.
func (p *Proxy) copyUp(l *link) {
	defer p.wg.Done()
	defer l.close(false)
	buf := make([]byte, 32<<10)
	for {
		n, err := l.client.Read(buf)
		if n > 0 {
			if !p.waitStall(l) {
				return
			}
			p.up.Add(int64(n))
			if _, werr := l.upstream.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// copyDown forwards upstream → client, counting bytes against the rules.
func (p *Proxy) copyDown(l *link) {
	defer p.wg.Done()
	defer l.close(false)
	buf := make([]byte, 32<<10)
	for {
		n, err := l.upstream.Read(buf)
		b := buf[:n]
		for len(b) > 0 {
			if !p.waitStall(l) {
				return
			}
			k, hits := p.reserve(int64(len(b)))
			if _, werr := l.client.Write(b[:k]); werr != nil {
				return
			}
			b = b[k:]
			for _, r := range hits {
				p.fire(r.Rule, fmt.Sprintf("after %d bytes", r.AfterBytes))
				close(r.fired)
			}
			select {
			case <-l.done: // this link was dropped or reset by the fault
				return
			default:
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				// A reset upstream: pass the reset on to the client.
				l.close(true)
			}
			return
		}
	}
}

// reserve accounts for up to n bytes about to be forwarded downstream: it
// returns how many to write now (stopping at the next rule's threshold)
// and the rules that fire once they are written.
func (p *Proxy) reserve(n int64) (int64, []pendingRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := n
	for _, r := range p.mu.rules {
		if t := r.AfterBytes - p.mu.down; t > 0 && t < k {
			k = t
		}
	}
	p.mu.down += k
	p.mu.stats.BytesDown = p.mu.down
	var hits []pendingRule
	keep := p.mu.rules[:0]
	for _, r := range p.mu.rules {
		if r.AfterBytes <= p.mu.down {
			hits = append(hits, r)
		} else {
			keep = append(keep, r)
		}
	}
	p.mu.rules = keep
	return k, hits
}

// waitStall blocks while the proxy is stalled. It returns false when the
// link was closed meanwhile.
func (p *Proxy) waitStall(l *link) bool {
	for {
		p.mu.Lock()
		d := time.Until(p.mu.stallUntil)
		p.mu.Unlock()
		if d <= 0 {
			return true
		}
		t := time.NewTimer(min(d, stallPoll))
		select {
		case <-t.C:
		case <-l.done:
			t.Stop()
			return false
		}
	}
}

// fire injects a fault now.
func (p *Proxy) fire(r Rule, cause string) Event {
	p.mu.Lock()
	ev := Event{At: time.Now(), Fault: r.Fault, Cause: cause, Bytes: p.mu.down, Stall: r.Stall}
	links := p.linksLocked()
	ev.Conns = len(links)
	if r.Fault == Stall {
		if until := time.Now().Add(r.Stall); until.After(p.mu.stallUntil) {
			p.mu.stallUntil = until
		}
	}
	p.mu.stats.Faults++
	p.mu.events = append(p.mu.events, ev)
	p.mu.Unlock()
	switch r.Fault {
	case Drop:
		for _, l := range links {
			l.close(false)
		}
	case Reset:
		for _, l := range links {
			l.close(true)
		}
	}
	return ev
}

// Drop closes every open connection (FIN) now and returns the event.
func (p *Proxy) Drop() Event { return p.fire(Rule{Fault: Drop}, "command") }

// Reset aborts every open connection with an RST now.
func (p *Proxy) Reset() Event { return p.fire(Rule{Fault: Reset}, "command") }

// Stall stops forwarding, on open and new connections, for d from now
// (extending a stall in progress if d ends later).
func (p *Proxy) Stall(d time.Duration) Event { return p.fire(Rule{Fault: Stall, Stall: d}, "command") }

// Resume ends a stall now.
func (p *Proxy) Resume() {
	p.mu.Lock()
	p.mu.stallUntil = time.Time{}
	p.mu.Unlock()
}

// Refuse makes the proxy reset every new connection at once while on is
// true, as a node that is down would; open connections are not touched
// (combine with Reset or Drop).
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	p.mu.refuse = on
	p.mu.Unlock()
}

// Inject adds a rule. The returned channel is closed when the rule fires
// (never, if the proxy closes first). A rule whose threshold was already
// passed fires after the next chunk forwarded upstream → client.
func (p *Proxy) Inject(r Rule) <-chan struct{} {
	pr := pendingRule{Rule: r, fired: make(chan struct{})}
	p.mu.Lock()
	p.mu.rules = append(p.mu.rules, pr)
	p.mu.Unlock()
	return pr.fired
}

// Events returns the faults injected so far, in order.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.mu.events...)
}

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.mu.stats
	s.Open = len(p.mu.links)
	s.BytesUp = p.up.Load()
	return s
}
