// Command demoload fills demo.events with deterministic rows for `make run`
// and the tests: several CQL types, nulls, a set, a map, a timestamp, a blob.
// It records what it loaded in demo.loads and does nothing when that row
// already says the same count, so a second `make run` starts streaming at
// once. Rows are generated from their sequence number alone, so any process
// can recompute what a row holds.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"gopkg.in/inf.v0"
)

func main() {
	host := flag.String("host", "127.0.0.1:9042", "Cassandra contact point")
	rows := flag.Int64("rows", 100000, "number of rows to load")
	schema := flag.String("schema", "examples/demo/schema.cql", "CQL file creating the keyspace and tables")
	conc := flag.Int("concurrency", 64, "writes in flight")
	force := flag.Bool("force", false, "load even if demo.loads says the rows are there")
	flag.Parse()
	if err := run(*host, *schema, *rows, *conc, *force); err != nil {
		fmt.Fprintln(os.Stderr, "demoload:", err)
		os.Exit(1)
	}
}

func run(host, schemaFile string, n int64, conc int, force bool) error {
	cluster := gocql.NewCluster(host)
	cluster.Timeout = 30 * time.Second
	cluster.ConnectTimeout = 10 * time.Second
	cluster.Consistency = gocql.One
	cluster.DisableInitialHostLookup = true
	cluster.Logger = gocql.NewLogger(gocql.LogLevelNone)
	s, err := cluster.CreateSession()
	if err != nil {
		return fmt.Errorf("connect %s: %w", host, err)
	}
	defer s.Close()
	ctx := context.Background()

	src, err := os.ReadFile(schemaFile)
	if err != nil {
		return err
	}
	for _, st := range strings.Split(stripComments(string(src)), ";") {
		if st = strings.TrimSpace(st); st == "" {
			continue
		}
		if err := s.Query(st).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("%s: %w", firstLine(st), err)
		}
	}
	var have int64
	err = s.Query(`SELECT rows FROM demo.loads WHERE name = 'events'`).WithContext(ctx).Scan(&have)
	if err != nil && err != gocql.ErrNotFound {
		return fmt.Errorf("read demo.loads: %w", err)
	}
	if have == n && !force {
		fmt.Fprintf(os.Stderr, "demoload: demo.events already holds %d rows; skipping\n", n)
		return nil
	}
	if have != 0 && have != n {
		// A different size was loaded before: start clean so counts are exact.
		if err := s.Query(`TRUNCATE demo.events`).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("truncate demo.events: %w", err)
		}
	}
	start := time.Now()
	const ins = `INSERT INTO demo.events (id, seq, customer, email, status, amount, score, attempts, tags, attrs, created_at, day, client_ip, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
	type res struct {
		seq int64
		err error
	}
	sem := make(chan struct{}, conc)
	errs := make(chan res, conc)
	var firstErr error
	done := make(chan struct{})
	go func() {
		for r := range errs {
			if r.err != nil && firstErr == nil {
				firstErr = fmt.Errorf("insert row %d: %w", r.seq, r.err)
			}
		}
		close(done)
	}()
	for i := int64(0); i < n; i++ {
		sem <- struct{}{}
		r := Row(i)
		go func(seq int64) {
			defer func() { <-sem }()
			err := s.Query(ins, r.ID, r.Seq, r.Customer, r.Email, r.Status, r.Amount, r.Score, r.Attempts, r.Tags, r.Attrs, r.Created, r.Day, r.IP, r.Payload).
				WithContext(ctx).Idempotent(true).Exec()
			errs <- res{seq, err}
		}(i)
		if i > 0 && i%20000 == 0 {
			fmt.Fprintf(os.Stderr, "demoload: %d rows\n", i)
		}
	}
	for i := 0; i < conc; i++ {
		sem <- struct{}{}
	}
	close(errs)
	<-done
	if firstErr != nil {
		return firstErr
	}
	if err := s.Query(`INSERT INTO demo.loads (name, rows, seed) VALUES ('events', ?, 1)`, n).WithContext(ctx).Exec(); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "demoload: loaded %d rows into demo.events in %s (%.0f rows/s)\n", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

// DemoRow is one generated row; pointer fields are NULL when nil.
type DemoRow struct {
	ID       gocql.UUID
	Seq      int64
	Customer string
	Email    *string
	Status   *string
	Amount   *inf.Dec
	Score    float64
	Attempts *int
	Tags     []string
	Attrs    map[string]string
	Created  time.Time
	Day      time.Time
	IP       net.IP
	Payload  []byte
}

var statuses = []string{"active", "pending", "closed", "active", "active"}

// Row computes row i deterministically.
func Row(i int64) DemoRow {
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
	var id gocql.UUID
	copy(id[:], h[:16])
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	r := DemoRow{ID: id, Seq: i}
	r.Customer = fmt.Sprintf("customer-%04d", i%5000)
	if i%10 != 3 {
		e := fmt.Sprintf("user%d@example.com", i%5000)
		r.Email = &e
	}
	if i%17 != 0 {
		st := statuses[i%int64(len(statuses))]
		r.Status = &st
	}
	if i%7 != 0 {
		r.Amount = inf.NewDec(int64(binary.BigEndian.Uint32(h[16:20])%1000000), 2)
	}
	r.Score = math.Round(float64(binary.BigEndian.Uint16(h[20:22]))/655.35*100) / 100
	if i%11 != 0 {
		a := int(h[22] % 9)
		r.Attempts = &a
	}
	switch i % 4 {
	case 0:
		r.Tags = nil
	case 1:
		r.Tags = []string{"web"}
	case 2:
		r.Tags = []string{"mobile", "beta"}
	default:
		r.Tags = []string{"api", "partner", "eu"}
	}
	if i%3 != 0 {
		r.Attrs = map[string]string{"plan": []string{"free", "pro", "team"}[i%3], "region": []string{"eu", "us", "ap", "sa"}[i%4]}
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r.Created = base.Add(time.Duration(i) * 37 * time.Second).Truncate(time.Millisecond)
	r.Day = time.Date(r.Created.Year(), r.Created.Month(), r.Created.Day(), 0, 0, 0, 0, time.UTC)
	r.IP = net.IPv4(10, h[23], h[24], h[25]).To4()
	if i%5 == 0 {
		r.Payload = []byte{} // empty, not null
	} else if i%5 != 1 {
		r.Payload = h[26:32]
	}
	return r
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
