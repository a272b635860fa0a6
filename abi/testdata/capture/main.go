// Command capture prints the raw cell bytes Apache Cassandra returns for CQL
// literals, as the cassandraCells table in abi/value_test.go records them.
// It is how that table was made (against Cassandra 5.0.8) and how to extend
// it; it lives under testdata so that the abi package itself stays
// standard-library only.
//
//	go run ./abi/testdata/capture 'int=-2' 'vector<tinyint,2>=[1,-2]' ...
//
// Each argument is TYPE=LITERAL. It creates keyspace abi_capture on the node
// at $SLUICE_CASSANDRA (default 127.0.0.1:9042), one table per argument,
// inserts the literal, reads it back with a raw gocql.Unmarshaler and prints
// TYPE, LITERAL, the cell in hex ("nil" for null) and Cassandra's own
// SELECT JSON rendering.
package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

type raw struct{ b []byte }

func (r *raw) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	if data != nil {
		r.b = append([]byte{}, data...)
	}
	return nil
}

func main() {
	host := os.Getenv("SLUICE_CASSANDRA")
	if host == "" {
		host = "127.0.0.1:9042"
	}
	c := gocql.NewCluster(host)
	c.Timeout = 30 * time.Second
	c.DisableInitialHostLookup = true
	s, err := c.CreateSession()
	if err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		os.Exit(1)
	}
	defer s.Close()
	exec := func(q string) {
		if err := s.Query(q).Exec(); err != nil {
			fmt.Fprintf(os.Stderr, "capture: %s: %v\n", q, err)
			os.Exit(1)
		}
	}
	exec("CREATE KEYSPACE IF NOT EXISTS abi_capture WITH replication = {'class':'SimpleStrategy','replication_factor':1}")
	exec("CREATE TYPE IF NOT EXISTS abi_capture.addr (street text, zip int)")
	for i, arg := range os.Args[1:] {
		typ, lit, ok := strings.Cut(arg, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "capture: %q is not TYPE=LITERAL\n", arg)
			os.Exit(2)
		}
		tbl := fmt.Sprintf("abi_capture.t%d", i)
		exec("DROP TABLE IF EXISTS " + tbl)
		exec(fmt.Sprintf("CREATE TABLE %s (k int PRIMARY KEY, v %s)", tbl, typ))
		exec(fmt.Sprintf("INSERT INTO %s (k, v) VALUES (1, %s)", tbl, lit))
		var r raw
		if err := s.Query("SELECT v FROM " + tbl + " WHERE k = 1").Scan(&r); err != nil {
			fmt.Fprintf(os.Stderr, "capture: %s: %v\n", arg, err)
			os.Exit(1)
		}
		var js string
		if err := s.Query("SELECT JSON v FROM " + tbl + " WHERE k = 1").Scan(&js); err != nil {
			fmt.Fprintf(os.Stderr, "capture: %s: %v\n", arg, err)
			os.Exit(1)
		}
		cell := "nil"
		if r.b != nil {
			cell = hex.EncodeToString(r.b)
		}
		fmt.Printf("%s\t%s\t%s\t%s\n", typ, lit, cell, js)
	}
}
