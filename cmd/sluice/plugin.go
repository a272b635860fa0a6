package main

import (
	"fmt"
	"io"
)

const pluginUsage = `Usage:
  sluice plugin test [flags]      run a plugin or chain on a JSONL/CSV fixture, no Cassandra
  sluice plugin new  [flags] NAME scaffold a plugin project (go, rust, c, assemblyscript)

Run 'sluice plugin test -help' or 'sluice plugin new -help' for flags.
`

func cmdPlugin(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, pluginUsage)
		return usagef("plugin: missing subcommand (test or new)")
	}
	switch args[0] {
	case "test":
		return cmdPluginTest(args[1:], stdout, stderr)
	case "new":
		return cmdPluginNew(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, pluginUsage)
		return nil
	}
	fmt.Fprint(stderr, pluginUsage)
	return usagef("plugin: unknown subcommand %q", args[0])
}
