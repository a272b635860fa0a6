// Package wide describes the benchmark table of bench/run: its schema, the
// deterministic content of row i, and the cluster settings every benchmark
// client uses to reach the local node.
//
// The table has a uuid partition key (rows land all over the token ring,
// as in a real table keyed by ids) and ten more columns of mixed types:
//
//	id uuid PRIMARY KEY, seq bigint, bucket int, name text, email text,
//	score double, active boolean, created timestamp, amount decimal,
//	tags set<text>, payload blob
//
// bucket is seq % 100, so a filter on it keeps an exact share of the rows
// (bucket < 1 keeps 1%, bucket >= 0 keeps all of them).
package wide

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"gopkg.in/inf.v0"
)

// Keyspace holds every benchmark table and the load marker table.
const Keyspace = "sluice_bench"

// MarkerTable records, per table name, how many rows a completed load
// wrote (the same marker table as pager/bench_test.go).
const MarkerTable = "loaded"

// Columns is the column list of the table in CQL order.
const Columns = "id, seq, bucket, name, email, score, active, created, amount, tags, payload"

var identRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// CheckTable returns an error unless name is a plain lower-case CQL
// identifier (it is spliced into statements).
func CheckTable(name string) error {
	if !identRE.MatchString(name) {
		return fmt.Errorf("table name %q: want a lower-case identifier ([a-z][a-z0-9_]*, at most 48 bytes)", name)
	}
	return nil
}

// DDL returns the statements creating the keyspace, the marker table and
// the benchmark table named table.
func DDL(table string) []string {
	return []string{
		"CREATE KEYSPACE IF NOT EXISTS " + Keyspace + " WITH replication = {'class':'SimpleStrategy','replication_factor':1}",
		"CREATE TABLE IF NOT EXISTS " + Keyspace + "." + MarkerTable + " (name text PRIMARY KEY, rows int)",
		"CREATE TABLE IF NOT EXISTS " + Keyspace + "." + table + ` (
			id uuid PRIMARY KEY, seq bigint, bucket int, name text, email text,
			score double, active boolean, created timestamp, amount decimal,
			tags set<text>, payload blob)`,
	}
}

// Insert returns the INSERT statement of table, binding Row.Values.
func Insert(table string) string {
	return "INSERT INTO " + Keyspace + "." + table + " (" + Columns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?)"
}

// Row is the content of one generated row; nil pointers and slices are NULL.
type Row struct {
	ID      gocql.UUID
	Seq     int64
	Bucket  int
	Name    string
	Email   *string
	Score   float64
	Active  bool
	Created time.Time
	Amount  *inf.Dec
	Tags    []string
	Payload []byte
}

var tagSets = [][]string{nil, {"web"}, {"mobile", "beta"}, {"api", "partner", "eu"}}

// Make computes row i from i alone, so any process can recompute it.
// About 200 bytes of cell data per row; email is NULL for one row in ten,
// amount for one in seven, tags for one in four.
func Make(i int64) Row {
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
	var id gocql.UUID
	copy(id[:], h[:16])
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	r := Row{
		ID:      id,
		Seq:     i,
		Bucket:  int(i % 100),
		Name:    fmt.Sprintf("name-%08d", i),
		Score:   float64(binary.BigEndian.Uint32(h[16:20])%1_000_000) / 100,
		Active:  i%2 == 0,
		Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Tags:    tagSets[i%4],
	}
	if i%10 != 3 {
		e := fmt.Sprintf("user%d@example.com", i%50_000)
		r.Email = &e
	}
	if i%7 != 0 {
		r.Amount = inf.NewDec(int64(binary.BigEndian.Uint32(h[20:24])%10_000_000), 2)
	}
	r.Payload = make([]byte, 64)
	for j := range r.Payload {
		r.Payload[j] = h[j%32] ^ byte(j)
	}
	return r
}

// Values returns the bind values of Insert for r, in column order.
func (r Row) Values() []any {
	return []any{r.ID, r.Seq, r.Bucket, r.Name, r.Email, r.Score, r.Active, r.Created, r.Amount, r.Tags, r.Payload}
}

// Cluster returns the cluster config of the benchmark clients for the
// node at host ("host:port"): one node, no peer discovery, quiet logger,
// generous timeouts (the machine is small and shared).
func Cluster(host string) *gocql.ClusterConfig {
	c := gocql.NewCluster(host)
	c.Timeout = 60 * time.Second
	c.ConnectTimeout = 15 * time.Second
	c.Consistency = gocql.One
	c.DisableInitialHostLookup = true
	c.Logger = gocql.NewLogger(gocql.LogLevelNone)
	return c
}
