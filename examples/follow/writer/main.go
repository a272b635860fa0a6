// Command writer appends click events to demo.clicks at a steady rate, a
// few of them late (their event time some seconds before their write), for
// the follow-mode demo (examples/follow/README.md):
//
//	go run ./examples/follow/writer -rate 200 -late 5
//
// It creates the keyspace and table of examples/follow/schema.cql when
// they are missing, and runs until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"golang.org/x/time/rate"
)

func main() {
	hosts := flag.String("hosts", "127.0.0.1:9042", "comma-separated contact points")
	perSecond := flag.Float64("rate", 200, "events per second")
	latePct := flag.Int("late", 5, "percentage of events written late")
	lateBy := flag.Duration("late-by", 20*time.Second, "how late a late event is, at most (keep it under the stream's lateness)")
	shards := flag.Int("shards", 4, "shards per hour (the config's shards)")
	flag.Parse()

	cluster := gocql.NewCluster(strings.Split(*hosts, ",")...)
	cluster.Consistency = gocql.LocalQuorum
	s, err := cluster.CreateSession()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for _, stmt := range []string{
		"CREATE KEYSPACE IF NOT EXISTS demo WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE IF NOT EXISTS demo.clicks (hour text, shard int, at timestamp, id uuid, page text, user text, PRIMARY KEY ((hour, shard), at, id))",
	} {
		if err := s.Query(stmt).Exec(); err != nil {
			log.Fatal(err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lim := rate.NewLimiter(rate.Limit(*perSecond), max(1, int(*perSecond/10)))
	pages := []string{"/", "/pricing", "/docs", "/blog", "/signup"}
	var n, late int
	report := time.NewTicker(10 * time.Second)
	defer report.Stop()
	for ctx.Err() == nil {
		if lim.Wait(ctx) != nil {
			break
		}
		at := time.Now()
		if rand.IntN(100) < *latePct {
			at = at.Add(-time.Duration(rand.Int64N(int64(*lateBy))))
			late++
		}
		at = at.UTC().Truncate(time.Millisecond)
		err := s.Query("INSERT INTO demo.clicks (hour, shard, at, id, page, user) VALUES (?, ?, ?, ?, ?, ?)",
			at.Format("2006-01-02-15"), rand.IntN(*shards), at, gocql.MustRandomUUID(), pages[rand.IntN(len(pages))],
			fmt.Sprintf("user-%03d", rand.IntN(500))).WithContext(ctx).Exec()
		if err != nil && ctx.Err() == nil {
			log.Fatal(err)
		}
		n++
		select {
		case <-report.C:
			log.Printf("%d events written, %d of them late", n, late)
		default:
		}
	}
	log.Printf("%d events written, %d of them late", n, late)
}
