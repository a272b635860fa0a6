// Command sluice pages rows out of Apache Cassandra and runs every page
// through a chain of sandboxed WebAssembly plugins into sinks.
//
//	sluice run    -config FILE   stream every [[stream]] of the config
//	sluice check  -config FILE   validate config, Cassandra and plugins
//	sluice verify -config FILE   check a finished scan against its checkpoints and the table
//	sluice plugin test ...       run a plugin or chain on a fixture, no Cassandra
//	sluice plugin new ...        scaffold a plugin project
//	sluice version               print the version and the ABI it speaks
//
// Exit codes: 0 ok, 1 a stream failed, 2 usage or config error,
// 130 interrupted (SIGINT/SIGTERM) after a graceful stop.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit codes, documented in docs/cli.md.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// usageError marks errors that exit 2: bad flags, bad config, bad plugin
// files found before any row was read.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// interruptedError marks a run stopped by a signal after a graceful shutdown.
type interruptedError struct{ msg string }

func (e interruptedError) Error() string { return e.msg }

const topUsage = `sluice pages rows out of Apache Cassandra through sandboxed WebAssembly plugins.

Usage:
  sluice run    -config FILE [flags]    stream every [[stream]] in FILE
  sluice check  -config FILE [flags]    validate the config, Cassandra and every plugin
  sluice verify -config FILE [flags]    check the last scan: complete, the ring once, ranges re-read
  sluice plugin test [flags]            run a plugin or chain on a JSONL/CSV fixture, no Cassandra
  sluice plugin new  [flags] NAME       scaffold a plugin project
  sluice version                        print the version and the plugin ABI

Run 'sluice COMMAND -help' for a command's flags.

Exit codes: 0 ok, 1 a stream failed, 2 usage or config error, 130 interrupted.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(args[1:], stdout, stderr)
	case "check":
		err = cmdCheck(args[1:], stdout, stderr)
	case "verify":
		err = cmdVerify(args[1:], stdout, stderr)
	case "plugin":
		err = cmdPlugin(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		err = cmdVersion(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, topUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], topUsage)
		return exitUsage
	}
	return exitCode(err, stderr)
}

// exitCode prints err as the last thing on stderr and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errHelp) {
		return exitOK
	}
	var ue usageError
	var ie interruptedError
	switch {
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return exitInterrupted
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return exitFailure
	}
}
