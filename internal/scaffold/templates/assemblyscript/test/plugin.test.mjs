// Native tests of @@NAME@@ (make unit): the built @@NAME@@.wasm driven as the
// sluice host drives it, on the fixture of make test, with the SDK's test
// harness. Results are read by row index (kept rows) and by column name
// (rows written to an output: out.rows("name")).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Harness, PluginError, parseSchema } from "@sluice/sdk/testing.mjs";

const config = JSON.parse(readFileSync("testdata/config.json", "utf8"));
const schema = parseSchema(readFileSync("testdata/schema.txt", "utf8"));

test("the fixture keeps the rows with an email", async () => {
  const h = await Harness.load("@@NAME@@.wasm", config);
  const out = h.process(schema, readFileSync("testdata/input.jsonl", "utf8"));
  // Rows 1 (email null) and 3 (no email) are dropped; the empty email of
  // row 2 is a value, kept.
  assert.deepEqual(out.kept(), [0, 2, 4]);
});

test("a missing column is an error", async () => {
  const h = await Harness.load("@@NAME@@.wasm", config);
  assert.throws(() => h.process(parseSchema("id int"), [{ id: 1 }]),
    (e) => e instanceof PluginError && e.pluginMessage === '@@NAME@@: column "email" not found (columns: id)');
});
