package follow_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/pager"
	"github.com/sluicehq/sluice/pager/follow"
)

func TestMain(m *testing.M) { testutil.VerifyMain(m) }

// TestCassandraTimeUUIDTwoBucketColumns follows a real table clustered by
// a timeuuid, bucketed by two columns (a day text and an hour int from a
// numeric pattern): the rows written over the last hours are caught up,
// then rows written while it follows (some late within the lateness) are
// delivered, each once, as an independent read of the table says.
func TestCassandraTimeUUIDTwoBucketColumns(t *testing.T) {
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".tu")
	testutil.Exec(t, s, "CREATE TABLE "+ks+".tu (day text, hour int, at timeuuid, id int, v text, PRIMARY KEY ((day, hour), at))")
	insert := func(id int, e time.Time) {
		t.Helper()
		e = e.UTC()
		testutil.Exec(t, s, "INSERT INTO "+ks+".tu (day, hour, at, id, v) VALUES (?, ?, ?, ?, ?)",
			e.Format("2006-01-02"), e.Hour(), gocql.UUIDFromTime(e), id, fmt.Sprint("v", id))
	}
	now := time.Now()
	id := 0
	for ; id < 300; id++ { // the last 3 hours
		insert(id, now.Add(-3*time.Hour+time.Duration(id)*36*time.Second))
	}
	insert(id, now.Add(-5*time.Hour)) // before the start: never delivered
	id++

	ctx := context.Background()
	bk := follow.Buckets{Columns: []follow.BucketColumn{{Name: "day", Format: "yyyy-MM-dd"}, {Name: "hour", Format: "HH"}}}
	q, res, err := follow.NewCassandra(ctx, s, follow.Table{Keyspace: ks, Table: "tu"}, bk, "at", pager.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TimeKind != follow.TimeTimeUUID || len(res.KeyColumns) != 3 {
		t.Fatalf("resolved %+v", res)
	}
	spec := follow.Spec{Buckets: bk, TimeColumn: "at", TimeKind: res.TimeKind, KeyColumns: res.KeyColumns,
		Start: now.Add(-4 * time.Hour), Lateness: 10 * time.Second, Interval: 100 * time.Millisecond, MaxBuckets: 2, Flush: follow.FlushBucket}
	src, err := follow.New(spec, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := src.Plan(res.Query)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pager.New(src, plan, pager.Options{Stream: "tu", PageSize: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := map[int]int{}
	idCol := q.Schema().Index("id")
	// read pages until a poll that started after until has completed.
	readUntil := func(until time.Time) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			d, err := p.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range d.Page.Rows() {
				c, _ := row.Cell(idCol)
				got[int(int32(binary.BigEndian.Uint32(c)))]++
			}
			m, err := follow.MarkOf(d.Position.PageState)
			if err != nil {
				t.Fatal(err)
			}
			if m.PollDone && !m.Watermark.Before(until) {
				return
			}
		}
		t.Fatal(errors.New("the watermark did not pass the writes"))
	}
	readUntil(time.Now())
	// While it follows: new rows, and late ones (written 5 s after their
	// event time, within the 10 s lateness).
	for i := 0; i < 40; i++ {
		e := time.Now()
		if i%4 == 0 {
			e = e.Add(-5 * time.Second)
		}
		insert(id, e)
		id++
		time.Sleep(20 * time.Millisecond)
	}
	readUntil(time.Now().Add(spec.Lateness))

	// An independent read of the table.
	it := s.Query("SELECT id, at FROM " + ks + ".tu").Iter()
	var rid int
	var at gocql.UUID
	n := 0
	for it.Scan(&rid, &at) {
		n++
		want := 1
		if at.Time().Before(spec.Start) {
			want = 0
		}
		if got[rid] != want {
			t.Errorf("row %d (at %s): delivered %d times, want %d", rid, at.Time().UTC(), got[rid], want)
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if n != id {
		t.Fatalf("the table has %d rows, %d written", n, id)
	}
}
