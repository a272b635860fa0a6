// Package harness runs sluice plugins on fixture rows without Cassandra: the
// logic behind `sluice plugin test`.
//
// A fixture is a schema (ParseSchema, ReadSchemaFile) and rows in JSON lines
// or CSV (ReadFixture), cut into pages of the ABI row layout exactly as the
// pager builds them from Cassandra. Run feeds the pages through a chain of
// plugin instances on the host (the same host.Chain a stream uses, so limits,
// error reports and output handling are the production ones), flushes the
// chain at the end, and collects every output. RenderJSONL writes an output
// the way the JSONL sink does, and Diff compares it with an expected file.
//
// Errors about the fixture are *FixtureError (file, line, column); errors of
// a plugin are the host's *host.PluginError, unchanged.
//
// Nothing here keeps state between calls: every function is safe to call
// from any goroutine, and a Run owns the instances it creates until it
// returns.
package harness
