package pager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// eventIndex returns the index of the first event e, or -1.
func eventIndex(events []string, e string) int { return slices.Index(events, e) }

// lastEventIndex returns the index of the last event e, or -1.
func lastEventIndex(events []string, e string) int {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i] == e {
			return i
		}
	}
	return -1
}

// The request of page k+1 is sent, with page k's paging state, before
// page k is decoded. The fake's decode of page k waits for the request of
// page k+1 to start (awaitAhead), so a pager that decoded first and
// requested afterwards would fail with errNoAhead; the event log then
// shows the order for every page.
func TestRequestAheadOverlapsDecode(t *testing.T) {
	for _, tc := range []struct {
		name           string
		data           map[int][][]int32
		conc, prefetch int
	}{
		{"one split", evenPages(1, 8, 5), 1, 1},
		{"splits in parallel", evenPages(3, 6, 4), 2, 1},
		{"deep prefetch", evenPages(2, 9, 3), 2, 3},
		{"empty pages", map[int][][]int32{0: {{1, 2}, {}, {}, {3}, {}}, 1: {{}, {4}}}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer leakCheck(t)()
			f := newFake(tc.data)
			f.awaitAhead = true
			p := startPager(t, f, evenPlan(t, len(tc.data)), Options{Stream: "s", Concurrency: tc.conc, Prefetch: tc.prefetch}, nil)
			defer p.Close()
			ds, err := drain(t, p, context.Background())
			if err != io.EOF {
				t.Fatalf("Next: %v, want io.EOF", err)
			}
			if got, want := deliveredValues(t, ds), allValues(tc.data); !slices.Equal(got, want) {
				t.Fatalf("rows %v, want %v", got, want)
			}
			ev := f.events()
			for s, pages := range tc.data {
				for k := 0; k+1 < len(pages); k++ {
					req := eventIndex(ev, fmt.Sprintf("request %d/%d", s, k+1))
					dec := eventIndex(ev, fmt.Sprintf("decoded %d/%d", s, k))
					if req < 0 || dec < 0 || req > dec {
						t.Fatalf("split %d: request of page %d at event %d, decode of page %d done at event %d: want the request first\n%v", s, k+1, req, k, dec, ev)
					}
					// Page k's response had arrived (its request returned)
					// before page k+1 was asked for: one request in flight.
					if prev := eventIndex(ev, fmt.Sprintf("request %d/%d", s, k)); prev > req {
						t.Fatalf("split %d: page %d requested before page %d", s, k+1, k)
					}
				}
			}
			f.checkReleased(t)
			if n := f.fetches(); n != len(ds) {
				t.Fatalf("%d requests for %d pages: a request was repeated or wasted", n, len(ds))
			}
		})
	}
}

// A failure of the request sent ahead, or of the decode of the page before
// it, is retried with the same paging state; no row is lost or repeated,
// and a FetchError still names the page and the resume position.
func TestAheadRequestRetriedWithSameState(t *testing.T) {
	connLost := fmt.Errorf("reading page: %w", gocql.ErrConnectionClosed)
	invalid := errors.New("Undefined column name nope") // not retryable
	for _, tc := range []struct {
		name       string
		fail       func(split, page, attempt int) error // request phase
		decodeFail func(split, page, attempt int) error
		// want
		attempts map[int]int // page -> requests
		retries  uint64
		fatal    error // nil: the run completes
		fatalAt  uint64
	}{
		{
			name: "ahead request fails twice",
			fail: func(_, page, attempt int) error {
				if page == 3 && attempt <= 2 {
					return connLost
				}
				return nil
			},
			attempts: map[int]int{2: 1, 3: 3, 4: 1},
			retries:  2,
		},
		{
			// The ahead request of page 3 is discarded, then sent again
			// with the state of page 2's new response.
			name: "decode fails with the ahead request in flight",
			decodeFail: func(_, page, attempt int) error {
				if page == 2 && attempt == 1 {
					return connLost
				}
				return nil
			},
			attempts: map[int]int{1: 1, 2: 2, 3: 2, 4: 1},
			retries:  1,
		},
		{
			name: "ahead request fails for good",
			fail: func(_, page, _ int) error {
				if page == 3 {
					return invalid
				}
				return nil
			},
			attempts: map[int]int{3: 1, 4: 0},
			fatal:    invalid,
			fatalAt:  4,
		},
		{
			name: "retries of the ahead request run out",
			fail: func(_, page, _ int) error {
				if page == 3 {
					return connLost
				}
				return nil
			},
			attempts: map[int]int{3: 3, 4: 0},
			retries:  2,
			fatal:    gocql.ErrConnectionClosed,
			fatalAt:  4,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer leakCheck(t)()
			data := evenPages(1, 6, 6)
			f := newFake(data)
			f.awaitAhead = true // every first attempt of pages 1.. is an ahead request
			f.fail, f.decodeFail = tc.fail, tc.decodeFail
			p := startPager(t, f, evenPlan(t, 1), Options{Stream: "orders", Retries: 2, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}, nil)
			defer p.Close()
			ds, err := drain(t, p, context.Background())
			for page, n := range tc.attempts {
				if got := f.attempts(0, page); got != n {
					t.Errorf("page %d requested %d times, want %d", page, got, n)
				}
				for _, st := range f.states(0, page) {
					if want := fmt.Sprintf("p%d", page); st != want {
						t.Errorf("page %d requested with state %q, want %q", page, st, want)
					}
				}
			}
			if got := p.Stats().Retries; got != tc.retries {
				t.Errorf("%d retries, want %d", got, tc.retries)
			}
			ev := f.events()
			// The first attempt of page 3 was sent ahead: before page 2 was decoded.
			if req, dec := eventIndex(ev, "request 0/3"), lastEventIndex(ev, "decoded 0/2"); req < 0 || dec < 0 || req > dec {
				t.Errorf("page 3 first requested at event %d, page 2 decoded at %d: not ahead\n%v", req, dec, ev)
			}
			f.checkReleased(t)
			if tc.fatal == nil {
				if err != io.EOF {
					t.Fatalf("Next: %v, want io.EOF", err)
				}
				if got, want := deliveredValues(t, ds), allValues(data); !slices.Equal(got, want) {
					t.Fatalf("rows lost or repeated: got %d rows, want %d", len(got), len(want))
				}
				return
			}
			var fe *FetchError
			if !errors.As(err, &fe) || !errors.Is(err, tc.fatal) {
				t.Fatalf("Next: %v, want a *FetchError wrapping %v", err, tc.fatal)
			}
			if fe.Stream != "orders" || fe.Page != tc.fatalAt || string(fe.Resume.PageState) != fmt.Sprintf("p%d", tc.fatalAt-1) ||
				fe.Resume.Pages != tc.fatalAt-1 || fe.Attempts != int(tc.retries)+1 {
				t.Fatalf("FetchError %+v", fe)
			}
			if got, want := deliveredValues(t, ds), allValues(map[int][][]int32{0: data[0][:tc.fatalAt-1]}); !slices.Equal(got, want) {
				t.Fatalf("delivered %v before the failure, want %v", got, want)
			}
			t.Log(err)
		})
	}
}

// Stopping a split while its request ahead is in flight cancels that
// request and waits for it: nothing leaks (leakCheck), every response is
// released, whatever the owner was doing at that moment.
func TestCancelWithAheadInFlight(t *testing.T) {
	for _, phase := range []struct {
		name   string
		take   int                        // pages the consumer takes before stopping
		decode func(split, page int) bool // decodeBlock
	}{
		// Page 1 delivered, no credit left: the owner waits for one.
		{name: "owner waits for a credit", take: 1},
		// Page 1 taken: the owner waits for the response of page 2.
		{name: "owner waits for the ahead response", take: 2},
		// Page 1 is being decoded (forever) when the stream stops.
		{name: "owner decodes", take: 1, decode: func(_, page int) bool { return page == 1 }},
	} {
		for _, stop := range []string{"cancel", "close"} {
			t.Run(phase.name+"/"+stop, func(t *testing.T) {
				defer leakCheck(t)()
				f := newFake(evenPages(1, 10, 3))
				aheadSent := make(chan struct{})
				f.block = func(_, page int) bool {
					if page == 2 {
						close(aheadSent)
						return true
					}
					return false
				}
				f.decodeBlock = phase.decode
				p, err := New(f, evenPlan(t, 1), Options{Stream: "s"}, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if err := p.Start(ctx); err != nil {
					t.Fatal(err)
				}
				for range phase.take {
					if _, err := p.Next(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				<-aheadSent
				switch stop {
				case "cancel":
					cancel()
					for {
						_, err := p.Next(context.Background())
						if err == nil {
							continue // a page delivered before the cancel
						}
						if !errors.Is(err, context.Canceled) {
							t.Fatalf("Next after cancel: %v, want context.Canceled", err)
						}
						break
					}
					p.Close()
				case "close":
					p.Close()
				}
				f.mu.Lock()
				canceled := f.mu.canceled
				f.mu.Unlock()
				if canceled != 1 {
					t.Fatalf("%d requests saw the cancellation, want 1 (the one sent ahead)", canceled)
				}
				if n := f.attempts(0, 3); n != 0 {
					t.Fatalf("page 3 requested %d times after the stop", n)
				}
				f.checkReleased(t)
			})
		}
	}
}
