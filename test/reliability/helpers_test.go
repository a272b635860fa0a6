package reliability

import (
	"path/filepath"

	"github.com/sluicehq/sluice/test/reliability/e2e"
)

// ks is this package's keyspace (e2e.Keyspace, set by TestMain); no other
// package uses it.
const ks = "rel_reliability"

// Short names for the e2e helpers used all over this package.
type (
	cfg       = e2e.Config
	streamCfg = e2e.Stream
	pluginCfg = e2e.Plugin
	sinkCfg   = e2e.Sink
	proc      = e2e.Proc
)

var (
	long            = e2e.Long
	session         = e2e.Session
	ensureEvents    = e2e.EnsureEvents
	loaded          = e2e.Loaded
	markLoaded      = e2e.MarkLoaded
	parallel        = e2e.Parallel
	fixture         = e2e.Fixture
	intp            = e2e.IntP
	start           = e2e.Start
	run             = e2e.Run
	tail            = e2e.Tail
	errorReport     = e2e.ErrorReport
	crashed         = e2e.Crashed
	checkpointPages = e2e.CheckpointPages
	waitCheckpoint  = e2e.WaitCheckpoint
	readFile        = e2e.ReadFile
	sum             = e2e.Sum
	multisetSum     = e2e.MultisetSum
	jsonlIDs        = e2e.JSONLIDs
	checkIDs        = e2e.CheckIDs
	clean           = e2e.Clean
	sameOutput      = e2e.SameOutput
	ctxT            = e2e.Ctx
)

// ownFixture returns the absolute path of a module of this package's testdata.
func ownFixture(name string) string {
	abs, err := filepath.Abs(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		panic(err)
	}
	return abs
}
