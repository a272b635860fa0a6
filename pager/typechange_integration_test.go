package pager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testutil"
)

// TestIntegrationUDTAlteredDuringScan: a UDT that gains a field while a
// scan runs changes a column's type under the same name. The pages read
// before keep the old type (their cells have its shape); the first page
// whose metadata has the new type stops the scan with errSchemaChanged,
// naming both types, instead of delivering cells that do not fit the page
// schema.
func TestIntegrationUDTAlteredDuringScan(t *testing.T) {
	s := testutil.Session(t)
	defer leakCheck(t)()
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".a")
	testutil.Exec(t, s, "DROP TYPE IF EXISTS "+ks+".g")
	testutil.Exec(t, s, "CREATE TYPE "+ks+".g (a int)")
	testutil.Exec(t, s, "CREATE TABLE "+ks+".a (id int PRIMARY KEY, v frozen<g>)")
	for i := 0; i < 6; i++ {
		testutil.Exec(t, s, fmt.Sprintf("INSERT INTO %s.a (id, v) VALUES (%d, {a: %d})", ks, i, i))
	}
	ctx := context.Background()
	opts := Options{Stream: "alter", PageSize: 1, Splits: 1, Prefetch: 1, Retries: -1}.WithDefaults()
	src, err := NewCassandraSource(ctx, s, Spec{Keyspace: ks, Table: "a"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := src.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(src, plan, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for n := 0; ; n++ {
		d, err := p.Next(ctx)
		if err == io.EOF {
			t.Fatal("the scan ended without noticing the altered type")
		}
		if err != nil {
			if !errors.Is(err, errSchemaChanged) || !strings.Contains(err.Error(), ".g{a int}, now ") || !strings.Contains(err.Error(), ".g{a int, b text}") {
				t.Fatalf("page %d: got %v, want errSchemaChanged naming both types", n, err)
			}
			return
		}
		if !d.Page.Schema.Equal(src.Schema()) {
			t.Fatalf("page %d has schema %s, want %s", n, d.Page.Schema, src.Schema())
		}
		if n == 0 {
			testutil.Exec(t, s, "ALTER TYPE "+ks+".g ADD b text")
			for i := 0; i < 6; i++ {
				testutil.Exec(t, s, fmt.Sprintf("INSERT INTO %s.a (id, v) VALUES (%d, {a: %d, b: 'x'})", ks, i, i))
			}
		}
	}
}

// TestIntegrationUnknownClassRefusedAtBuild: a column whose class the
// driver cannot look up is refused by NewCassandraSource (so by check,
// exit 2) as a SourceError saying what to do. A class from a jar on the
// server cannot be installed on the test node, so the session here lacks
// sluice's registry, which makes DynamicCompositeType such a class.
func TestIntegrationUnknownClassRefusedAtBuild(t *testing.T) {
	s := testutil.Session(t)
	ks := testutil.Keyspace(t, s)
	testutil.Exec(t, s, "DROP TABLE IF EXISTS "+ks+".dc")
	testutil.Exec(t, s, "CREATE TABLE "+ks+".dc (id int PRIMARY KEY, v 'org.apache.cassandra.db.marshal.DynamicCompositeType(s=>org.apache.cassandra.db.marshal.UTF8Type)')")
	c := testutil.Cluster()
	c.RegisteredTypes = nil // the driver's own registry
	plain, err := c.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, err = NewCassandraSource(context.Background(), plain, Spec{Keyspace: ks, Table: "dc"}, Options{Stream: "dc"}.WithDefaults())
	var se *SourceError
	if !errors.As(err, &se) || se.Key != "table" || !strings.Contains(err.Error(), "custom class outside org.apache.cassandra.db.marshal") || !strings.Contains(err.Error(), "unknown type org.apache.cassandra.db.marshal.DynamicCompositeType") {
		t.Fatalf("got %v, want a SourceError on table naming the class", err)
	}
	// With sluice's registry the same table is read.
	if _, err := NewCassandraSource(context.Background(), s, Spec{Keyspace: ks, Table: "dc"}, Options{Stream: "dc"}.WithDefaults()); err != nil {
		t.Fatal(err)
	}
}
