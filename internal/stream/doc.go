// Package stream is sluice's engine: it runs one stream from a resolved
// Spec (a pager.Source and its plan, the plugin chain as compiled modules,
// the sinks, a checkpoint store and limits) and knows nothing of the
// configuration file or of Cassandra. internal/setup builds a Spec from the
// config; unit tests build one from pager/pagertest's fake source, with no
// node.
//
// # Goroutines and what each owns
//
//   - The dispatcher (dispatcher.go; the goroutine that calls Run) owns the
//     consumer side of the pager (Next) and the assignment of splits to
//     workers. A split always goes to one worker, so its pages are
//     processed in order.
//   - Each worker (worker.go) owns its host.Chain (the plugin instances)
//     and nothing else. It receives pages and swap steps on channels and
//     sends one result per page, and one for its flush, to the committer.
//   - The committer (committer.go) owns the sinks, the pager.Progress, the
//     checkpoint writes and the plugin snapshots it last applied. It applies
//     results in arrival order, which keeps every split in order, and it
//     alone decides what a checkpoint holds.
//   - The reloader (reloader.go) owns the running version of every plugin.
//     It self-tests a new version off the hot path, then swaps it in two
//     phases: every worker prepares it at a page boundary, then all commit
//     or all roll back.
//
// Values sent on channels change owner. Counters read by the progress
// display and metrics are atomics; nothing on the hot path takes a lock.
//
// # Exactly once
//
// A checkpoint (committer.go) holds, for one moment of the committer: the
// committed position of every split, the position of every rewindable sink
// after a flush, the state of every stateful plugin of every worker that
// has not flushed, and a manifest (manifest.go) naming the sinks and plugins
// it covers. On resume the sinks are rewound to their positions, the
// plugins restored, and paging continues from the positions; a changed set
// of sinks or plugins is mapped when the mapping is unambiguous (a rename)
// and refused otherwise, never truncated or dropped silently. A worker that
// has flushed is recorded as such and its state is not saved again, so a
// flush is never replayed.
package stream
