package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/pager"
)

const pluginSchemaDesc = `Write the schema of a live table, KEYSPACE.TABLE, as a plugin test fixture
schema: one "name type" line per column, in the order sluice pages the
table's rows (partition key, clustering, static, then regular columns), in
the format of -schema-file of 'sluice plugin test' and of the scaffolds'
testdata/schema.txt:

  sluice plugin schema -config sluice.toml shop.orders > testdata/schema.txt

The node comes from the [cassandra] table of -config (with its TLS and
credentials), or from -hosts.`

func cmdPluginSchema(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plugin schema", "sluice plugin schema [-config FILE | -hosts HOST:PORT,...] KEYSPACE.TABLE", pluginSchemaDesc, stderr)
	cfgPath := fs.String("config", "", "config `file` whose [cassandra] table says how to connect")
	hosts := fs.String("hosts", "127.0.0.1:9042", "comma-separated Cassandra `hosts` (without -config)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("plugin schema: want one KEYSPACE.TABLE, got %d arguments", fs.NArg())
	}
	ks, table, ok := strings.Cut(fs.Arg(0), ".")
	if !ok || ks == "" || table == "" || strings.Contains(table, ".") {
		return usagef("plugin schema: %q is not KEYSPACE.TABLE", fs.Arg(0))
	}
	var cfg *config.Config
	if *cfgPath != "" {
		// A config whose only problem is a plugin module not built yet
		// still says how to connect.
		c, err := config.Load(*cfgPath)
		if c == nil {
			return usageError{err}
		}
		cfg = c
	} else {
		// The defaults of [cassandra] with these hosts: the smallest
		// valid config holding them.
		var q []string
		for _, h := range strings.Split(*hosts, ",") {
			q = append(q, strconv.Quote(strings.TrimSpace(h)))
		}
		doc := fmt.Sprintf("[cassandra]\nhosts = [%s]\n[[stream]]\nname = \"schema\"\n[stream.source]\nkeyspace = %s\ntable = %s\n[[stream.sink]]\ntype = \"stdout\"\n",
			strings.Join(q, ", "), strconv.Quote(ks), strconv.Quote(table))
		c, err := config.Parse("-hosts", []byte(doc))
		if err != nil {
			return usagef("plugin schema: -hosts %q: %v", *hosts, err)
		}
		cfg = c
	}
	secrets, err := cfg.ResolveSecrets(os.LookupEnv)
	if err != nil {
		return usageError{err}
	}
	sess, err := newSession(cfg, secrets)
	if err != nil {
		return err
	}
	defer sess.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cols, err := pager.TableColumns(ctx, sess, ks, table) // SELECT * order, as sluice pages them
	if err != nil {
		return fmt.Errorf("plugin schema: %w", err)
	}
	fmt.Fprintf(stdout, "# The columns of %s.%s, as sluice pages them (sluice plugin schema).\n", ks, table)
	for _, c := range cols {
		fmt.Fprintf(stdout, "%s %s\n", c.Name, c.Type)
	}
	return nil
}
