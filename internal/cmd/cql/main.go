// Command cql is the project's small stand-in for cqlsh, so that scripts and
// the Makefile need no Python: it runs CQL statements from -e or from files
// (split on ';' at the end of a line) and prints rows of SELECTs as
// tab-separated text. scripts/cassandra uses it to check that a node really
// answers queries, and `make run` uses it to create the demo schema.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

func main() {
	host := flag.String("host", "127.0.0.1:9042", "Cassandra contact point host:port")
	expr := flag.String("e", "", "CQL statement(s) to run; several separated by ';'")
	timeout := flag.Duration("timeout", 30*time.Second, "connect and per-statement timeout")
	keyspace := flag.String("k", "", "keyspace to use")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: cql [-host h:p] [-k keyspace] (-e 'STATEMENT;...' | FILE.cql ...)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*host, *keyspace, *expr, flag.Args(), *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "cql:", err)
		os.Exit(1)
	}
}

func run(host, keyspace, expr string, files []string, timeout time.Duration) error {
	var stmts []string
	if expr != "" {
		stmts = append(stmts, split(expr)...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		stmts = append(stmts, split(string(b))...)
	}
	if len(stmts) == 0 {
		return fmt.Errorf("nothing to run: give -e or a file")
	}
	cluster := gocql.NewCluster(host)
	cluster.Timeout = timeout
	cluster.ConnectTimeout = timeout
	cluster.Keyspace = keyspace
	cluster.Consistency = gocql.One
	cluster.DisableInitialHostLookup = true
	cluster.Logger = gocql.NewLogger(gocql.LogLevelNone)
	s, err := cluster.CreateSession()
	if err != nil {
		return fmt.Errorf("connect %s: %w", host, err)
	}
	defer s.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for _, st := range stmts {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		iter := s.Query(st).WithContext(ctx).Iter()
		cols := iter.Columns()
		for {
			row := make(map[string]any, len(cols))
			if !iter.MapScan(row) {
				break
			}
			for i, c := range cols {
				if i > 0 {
					out.WriteByte('\t')
				}
				fmt.Fprint(out, deref(row[c.Name]))
			}
			out.WriteByte('\n')
		}
		err := iter.Close()
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", oneLine(st), err)
		}
	}
	return nil
}

func deref(v any) any {
	if v == nil {
		return "null"
	}
	return v
}

// split cuts a CQL script into statements at ';' that end a line, and drops
// '--' and '//' comment lines. It is not a CQL parser: the demo files keep one
// statement per ';'-terminated block.
func split(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") || strings.HasPrefix(t, "//") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			if s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, strings.TrimSuffix(s, ";"))
	}
	return out
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
