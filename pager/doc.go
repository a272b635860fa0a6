// Package pager pages rows out of Apache Cassandra for sluice: manual
// paging with the driver's paging state, prefetch with bounded memory,
// retries of failed pages with the same paging state, token-range splits
// paged in parallel, sharding of a plan across processes without a
// coordinator, and checkpoints to resume each split where it stopped.
//
// Rows are captured as raw CQL bytes straight into ABI pages
// (abi.PageBuilder): a cell is never decoded and re-encoded on its way to a
// plugin.
//
// The pieces:
//
//   - Source is the seam between the paging logic and Cassandra.
//     CassandraSource (gocql) is the production implementation; unit tests
//     use a fake.
//   - Plan is the list of splits of a stream (SplitRing over the ring's
//     vnode tokens, or one whole-table split) and its fingerprint.
//   - Pager runs one owner goroutine per split and hands pages to one
//     consumer through Next, each with the Position after it.
//   - Progress, Checkpoint and CheckpointStore (FileStore, CassandraStore)
//     record what the consumer has fully processed, so a restarted stream
//     resumes from there.
//
// Typical use by the stream layer:
//
//	src, err := pager.NewCassandraSource(ctx, session, pager.Spec{Keyspace: "ks", Table: "t"}, opts)
//	plan, err := src.Plan(ctx)
//	p, err := pager.New(src, plan, opts, observer)
//	cp, err := store.Load(ctx, opts.Stream)
//	err = p.Resume(cp) // nil cp: start from scratch
//	err = p.Start(ctx)
//	defer p.Close()
//	progress := p.Progress()
//	for {
//		d, err := p.Next(ctx)
//		if err == io.EOF { break }
//		if err != nil { return err } // *pager.FetchError names split, page and resume position
//		process(d.Page)
//		progress.Commit(d.Position)
//		store.Save(ctx, progress.Checkpoint(extra))
//	}
//
// See docs/pager.md for the design and the failure modes it prevents.
package pager
