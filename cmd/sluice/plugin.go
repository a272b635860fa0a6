package main

import (
	"fmt"
	"io"
)

const pluginUsage = `Usage:
  sluice plugin test [flags]      run a plugin or chain on a JSONL/CSV fixture, no Cassandra
  sluice plugin new  [flags] NAME scaffold a plugin project (go, rust, c, assemblyscript)
  sluice plugin schema [flags] KEYSPACE.TABLE
                                  write a live table's columns as a fixture schema

Run 'sluice plugin test -help', 'sluice plugin new -help' or 'sluice plugin schema -help' for flags.
`

func cmdPlugin(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, pluginUsage)
		return usagef("plugin: missing subcommand (test, new or schema)")
	}
	switch args[0] {
	case "test":
		return cmdPluginTest(args[1:], stdout, stderr)
	case "new":
		return cmdPluginNew(args[1:], stdout, stderr)
	case "schema":
		return cmdPluginSchema(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, pluginUsage)
		return nil
	}
	fmt.Fprint(stderr, pluginUsage)
	return usagef("plugin: unknown subcommand %q", args[0])
}
