// The plugin's configuration ("SLC1").

import { PluginError } from "./error";
import { Reader, ByteWriter } from "./wire";
import { parseDecimalF64, parseI64, ParseStatus } from "./number";

/** The magic of a config, "SLC1" in memory order. */
export const CONFIG_MAGIC: u32 = 0x31434C53;

/**
 * The plugin's `config` TOML table, flattened to key/value strings: nested tables
 * give dotted keys (rename.old), arrays give one pair per element with the same
 * key, numbers are decimal text, booleans true/false, datetimes RFC 3339. Keys
 * arrive sorted; only arrays repeat a key.
 *
 * Methods that can fail return null (or the default) and leave the error in `err`.
 */
export class Config {
  keys: string[] = [];
  values: string[] = [];
  /** The error of the last failing call, or null. */
  err: PluginError | null = null;

  /** Decodes the SLC1 bytes at ptr; on malformed input returns null and sets errOut. */
  static decode(ptr: usize, len: usize, errOut: Config): Config | null {
    const c = new Config();
    if (len == 0) return c;
    const r = new Reader(ptr, len, "config");
    const magic = r.u32("magic");
    if (!r.failed && magic != CONFIG_MAGIC) r.fail("bad magic");
    const n = r.u32("pair count");
    if (!r.failed && <u64>n * 8 > <u64>r.remaining) r.fail(n.toString() + " pairs need at least " + (<u64>n * 8).toString() + " bytes");
    for (let i: u32 = 0; i < n && !r.failed; i++) {
      c.keys.push(r.str("key"));
      c.values.push(r.str("value"));
    }
    if (!r.failed && r.remaining != 0) r.fail(r.remaining.toString() + " trailing bytes");
    if (r.failed) {
      errOut.err = new PluginError(r.err!);
      return null;
    }
    return c;
  }

  /** A config from pairs, for tests. */
  static of(pairs: string[]): Config {
    const c = new Config();
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      c.keys.push(pairs[i]);
      c.values.push(pairs[i + 1]);
    }
    return c;
  }

  /** The SLC1 encoding. */
  encode(): Uint8Array {
    const w = new ByteWriter();
    w.u32(CONFIG_MAGIC);
    w.u32(<u32>this.keys.length);
    for (let i = 0; i < this.keys.length; i++) {
      w.str(this.keys[i]);
      w.str(this.values[i]);
    }
    return w.toBytes();
  }

  get length(): i32 { return this.keys.length; }

  /** True when key has at least one value. */
  has(key: string): bool { return this.keys.indexOf(key) >= 0; }

  /** The number of values of key. */
  count(key: string): i32 {
    let n = 0;
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) n++;
    return n;
  }

  /** The first value of key, or null. */
  get(key: string): string | null {
    const i = this.keys.indexOf(key);
    return i < 0 ? null : this.values[i];
  }

  /** Every value of key, in order (empty when absent): the Go SDK's All, Rust's all. */
  all(key: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) out.push(this.values[i]);
    return out;
  }

  /** The former name of all. */
  getAll(key: string): string[] { return this.all(key); }

  /**
   * The single value of key, or null when absent. Several values fail with
   * `config key "<key>" must have one value, got <n>` (null, err set).
   */
  one(key: string): string | null {
    this.err = null;
    const n = this.count(key);
    if (n > 1) {
      this.err = new PluginError("config key \"" + key + "\" must have one value, got " + n.toString());
      return null;
    }
    return this.get(key);
  }

  /** The single value of key; absent fails with `missing config key "<key>"`. */
  require(key: string): string | null {
    const v = this.one(key);
    if (v === null && this.err === null) this.err = new PluginError("missing config key \"" + key + "\"");
    return v;
  }

  /** The single value of key, or def when absent. */
  string(key: string, def: string): string {
    const v = this.one(key);
    return v !== null ? v : def;
  }

  /** The single value of key as a decimal integer, or def when absent. */
  int(key: string, def: i64): i64 {
    const v = this.one(key);
    if (v === null) return def;
    const st = new ParseStatus();
    const n = parseI64(v, st);
    if (!st.ok) {
      this.err = new PluginError("config key \"" + key + "\": \"" + v + "\" is not an integer");
      return def;
    }
    return n;
  }

  /** The single value of key as a decimal number, or def when absent. */
  float(key: string, def: f64): f64 {
    const v = this.one(key);
    if (v === null) return def;
    const st = new ParseStatus();
    const f = parseDecimalF64(v, st);
    if (!st.ok) {
      this.err = new PluginError("config key \"" + key + "\": \"" + v + "\" is not a number");
      return def;
    }
    return f;
  }

  /** The single value of key, "true" or "false", or def when absent. */
  bool(key: string, def: bool): bool {
    const v = this.one(key);
    if (v === null) return def;
    if (v == "true") return true;
    if (v == "false") return false;
    this.err = new PluginError("config key \"" + key + "\": \"" + v + "\" is not true or false");
    return def;
  }

  /** The pairs of a nested table: keys "prefix.rest" as a Config of "rest" keys. */
  sub(prefix: string): Config {
    const c = new Config();
    const p = prefix + ".";
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i].startsWith(p)) {
        c.keys.push(this.keys[i].substring(p.length));
        c.values.push(this.values[i]);
      }
    }
    return c;
  }

  /**
   * Checks every key against known, in the order the pairs arrived; the first key
   * not known fails with `unknown config key "<key>"`. A known entry "name.*"
   * accepts every key under table name. Call it first in init.
   */
  unknown(known: string[]): PluginError | null {
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i];
      let ok = false;
      for (let j = 0; j < known.length && !ok; j++) {
        const p = known[j];
        if (p.endsWith(".*")) ok = k.startsWith(p.substring(0, p.length - 1));
        else ok = k == p;
      }
      if (!ok) return new PluginError("unknown config key \"" + k + "\"");
    }
    return null;
  }

  /** Checks that each of keys has at most one value, in the order given. */
  single(keys: string[]): PluginError | null {
    for (let i = 0; i < keys.length; i++) {
      this.one(keys[i]);
      if (this.err !== null) return this.err;
    }
    return null;
  }
}
