// CQL types and schemas: the TypeDesc encoding of ABI v1.

import { Reader, ByteWriter } from "./wire";

/** The deepest nesting of type descriptors accepted (as the Go abi package). */
export const MAX_TYPE_DEPTH = 32;

/** CQL type ids: native protocol v5 option ids, plus Vector (0x0050, sluice's id). */
export namespace TypeId {
  export const Custom: i32 = 0x0000;
  export const Ascii: i32 = 0x0001;
  export const Bigint: i32 = 0x0002;
  export const Blob: i32 = 0x0003;
  export const Boolean: i32 = 0x0004;
  export const Counter: i32 = 0x0005;
  export const Decimal: i32 = 0x0006;
  export const Double: i32 = 0x0007;
  export const Float: i32 = 0x0008;
  export const Int: i32 = 0x0009;
  export const Timestamp: i32 = 0x000B;
  export const Uuid: i32 = 0x000C;
  /** text (varchar is the same type). */
  export const Text: i32 = 0x000D;
  export const Varint: i32 = 0x000E;
  export const Timeuuid: i32 = 0x000F;
  export const Inet: i32 = 0x0010;
  export const Date: i32 = 0x0011;
  export const Time: i32 = 0x0012;
  export const Smallint: i32 = 0x0013;
  export const Tinyint: i32 = 0x0014;
  export const Duration: i32 = 0x0015;
  export const List: i32 = 0x0020;
  export const Map: i32 = 0x0021;
  export const Set: i32 = 0x0022;
  export const Udt: i32 = 0x0030;
  export const Tuple: i32 = 0x0031;
  export const Vector: i32 = 0x0050;
}

const HEX = "0123456789ABCDEF";

/** The CQL name of a type id ("int", "text", "list"...), or "type(0xNNNN)". */
export function typeName(id: i32): string {
  switch (id) {
    case TypeId.Custom: return "custom";
    case TypeId.Ascii: return "ascii";
    case TypeId.Bigint: return "bigint";
    case TypeId.Blob: return "blob";
    case TypeId.Boolean: return "boolean";
    case TypeId.Counter: return "counter";
    case TypeId.Decimal: return "decimal";
    case TypeId.Double: return "double";
    case TypeId.Float: return "float";
    case TypeId.Int: return "int";
    case TypeId.Timestamp: return "timestamp";
    case TypeId.Uuid: return "uuid";
    case TypeId.Text: return "text";
    case TypeId.Varint: return "varint";
    case TypeId.Timeuuid: return "timeuuid";
    case TypeId.Inet: return "inet";
    case TypeId.Date: return "date";
    case TypeId.Time: return "time";
    case TypeId.Smallint: return "smallint";
    case TypeId.Tinyint: return "tinyint";
    case TypeId.Duration: return "duration";
    case TypeId.List: return "list";
    case TypeId.Map: return "map";
    case TypeId.Set: return "set";
    case TypeId.Udt: return "udt";
    case TypeId.Tuple: return "tuple";
    case TypeId.Vector: return "vector";
  }
  let h = "";
  for (let s = 12; s >= 0; s -= 4) h += HEX.charAt((id >> s) & 0xF);
  return "type(0x" + h + ")";
}

function knownScalar(id: i32): bool {
  return (id >= TypeId.Ascii && id <= TypeId.Duration && id != 0x000A);
}

/**
 * A CQL type, as the Go abi.Type. Scalars use only `id`. list, set: elems = [elem];
 * map: [key, value]; tuple: component types; udt: keyspace, name, fields and elems
 * (same length); vector: elems = [elem] and dim; custom: name = the class name.
 */
export class Type {
  id: i32;
  elems: Type[] = [];
  fields: string[] = [];
  keyspace: string = "";
  name: string = "";
  dim: u32 = 0;

  constructor(id: i32) { this.id = id; }

  static ascii(): Type { return new Type(TypeId.Ascii); }
  static bigint(): Type { return new Type(TypeId.Bigint); }
  static blob(): Type { return new Type(TypeId.Blob); }
  static boolean(): Type { return new Type(TypeId.Boolean); }
  static counter(): Type { return new Type(TypeId.Counter); }
  static decimal(): Type { return new Type(TypeId.Decimal); }
  static double(): Type { return new Type(TypeId.Double); }
  static float(): Type { return new Type(TypeId.Float); }
  static int(): Type { return new Type(TypeId.Int); }
  static timestamp(): Type { return new Type(TypeId.Timestamp); }
  static uuid(): Type { return new Type(TypeId.Uuid); }
  static text(): Type { return new Type(TypeId.Text); }
  static varint(): Type { return new Type(TypeId.Varint); }
  static timeuuid(): Type { return new Type(TypeId.Timeuuid); }
  static inet(): Type { return new Type(TypeId.Inet); }
  static date(): Type { return new Type(TypeId.Date); }
  static time(): Type { return new Type(TypeId.Time); }
  static smallint(): Type { return new Type(TypeId.Smallint); }
  static tinyint(): Type { return new Type(TypeId.Tinyint); }
  static duration(): Type { return new Type(TypeId.Duration); }

  /** list<elem> */
  static list(elem: Type): Type { const t = new Type(TypeId.List); t.elems.push(elem); return t; }
  /** set<elem> */
  static set(elem: Type): Type { const t = new Type(TypeId.Set); t.elems.push(elem); return t; }
  /** map<key, value> */
  static map(key: Type, value: Type): Type {
    const t = new Type(TypeId.Map); t.elems.push(key); t.elems.push(value); return t;
  }
  /** tuple<elems...> */
  static tuple(elems: Type[]): Type { const t = new Type(TypeId.Tuple); t.elems = elems; return t; }
  /** vector<elem, dim> */
  static vector(elem: Type, dim: u32): Type {
    const t = new Type(TypeId.Vector); t.elems.push(elem); t.dim = dim; return t;
  }
  /** The user-defined type keyspace.name with field names and types (same length). */
  static udt(keyspace: string, name: string, fields: string[], types: Type[]): Type {
    const t = new Type(TypeId.Udt);
    t.keyspace = keyspace; t.name = name; t.fields = fields; t.elems = types;
    return t;
  }
  /** A custom type with its Cassandra class name. */
  static custom(cls: string): Type { const t = new Type(TypeId.Custom); t.name = cls; return t; }

  /** True for list, set and map. */
  isCollection(): bool {
    return this.id == TypeId.List || this.id == TypeId.Set || this.id == TypeId.Map;
  }

  /** True for text and ascii. */
  isText(): bool { return this.id == TypeId.Text || this.id == TypeId.Ascii; }

  /**
   * The length of every element of this type inside a vector when fixed, else -1.
   * As Cassandra 5.0 writes vectors (checked against a real node and gocql):
   * boolean 1, int and float 4, bigint, double and timestamp 8, uuid and timeuuid 16,
   * a vector of those dim times that; every other type has a vint length prefix.
   */
  vectorFixedLen(): i32 {
    switch (this.id) {
      case TypeId.Boolean: return 1;
      case TypeId.Int: case TypeId.Float: return 4;
      case TypeId.Bigint: case TypeId.Double: case TypeId.Timestamp: return 8;
      case TypeId.Uuid: case TypeId.Timeuuid: return 16;
      case TypeId.Custom: return this.name == "org.apache.cassandra.db.marshal.LexicalUUIDType" ? 16 : -1;
      case TypeId.Vector: {
        if (this.elems.length == 1) {
          const n = this.elems[0].vectorFixedLen();
          if (n >= 0) return n * <i32>this.dim;
        }
        return -1;
      }
    }
    return -1;
  }

  /** Deep equality. */
  equals(o: Type): bool {
    if (this.id != o.id || this.dim != o.dim || this.name != o.name || this.keyspace != o.keyspace) return false;
    if (this.elems.length != o.elems.length || this.fields.length != o.fields.length) return false;
    for (let i = 0; i < this.fields.length; i++) if (this.fields[i] != o.fields[i]) return false;
    for (let i = 0; i < this.elems.length; i++) if (!this.elems[i].equals(o.elems[i])) return false;
    return true;
  }

  /** Checks the shape; returns the problem or null. */
  validate(): string | null { return this.validateAt(1); }

  private validateAt(depth: i32): string | null {
    if (depth > MAX_TYPE_DEPTH) return "type nested deeper than " + MAX_TYPE_DEPTH.toString() + " levels";
    let want = -1;
    const id = this.id;
    if (id == TypeId.List || id == TypeId.Set || id == TypeId.Vector) want = 1;
    else if (id == TypeId.Map) want = 2;
    else if (id == TypeId.Udt) {
      if (this.fields.length != this.elems.length) {
        return "udt " + this.name + " has " + this.fields.length.toString() + " field names but " +
          this.elems.length.toString() + " field types";
      }
    } else if (id != TypeId.Tuple) {
      if (id != TypeId.Custom && !knownScalar(id)) return "unknown type id " + typeName(id);
      want = 0;
    }
    if (want >= 0 && this.elems.length != want) {
      return typeName(id) + " needs " + want.toString() + " element types, has " + this.elems.length.toString();
    }
    if (this.elems.length > 0xFFFF) return typeName(id) + " with more than 65535 components";
    if (id == TypeId.Vector && this.dim == 0) return "vector dimensions 0 (must be >= 1)";
    for (let i = 0; i < this.elems.length; i++) {
      const e = this.elems[i].validateAt(depth + 1);
      if (e !== null) return e;
    }
    return null;
  }

  /** Appends the ABI type descriptor (the type must be valid). */
  encode(w: ByteWriter): void {
    w.u16(<u32>this.id);
    const id = this.id;
    if (id == TypeId.Custom) {
      w.str(this.name);
    } else if (id == TypeId.List || id == TypeId.Set || id == TypeId.Map) {
      for (let i = 0; i < this.elems.length; i++) this.elems[i].encode(w);
    } else if (id == TypeId.Udt) {
      w.str(this.keyspace);
      w.str(this.name);
      w.u16(<u32>this.elems.length);
      for (let i = 0; i < this.elems.length; i++) {
        w.str(this.fields[i]);
        this.elems[i].encode(w);
      }
    } else if (id == TypeId.Tuple) {
      w.u16(<u32>this.elems.length);
      for (let i = 0; i < this.elems.length; i++) this.elems[i].encode(w);
    } else if (id == TypeId.Vector) {
      this.elems[0].encode(w);
      w.u32(this.dim);
    }
  }

  /** Reads one type descriptor; on failure r.err is set and the result is meaningless. */
  static read(r: Reader, depth: i32): Type {
    if (depth > MAX_TYPE_DEPTH) {
      r.fail("type nested deeper than " + MAX_TYPE_DEPTH.toString() + " levels");
      return new Type(0);
    }
    const at = r.pos;
    const id = <i32>r.u16("type id");
    const t = new Type(id);
    if (r.failed) return t;
    if (id == TypeId.Custom) {
      t.name = r.str("custom class");
    } else if (id == TypeId.List || id == TypeId.Set) {
      t.elems.push(Type.read(r, depth + 1));
    } else if (id == TypeId.Map) {
      t.elems.push(Type.read(r, depth + 1));
      if (!r.failed) t.elems.push(Type.read(r, depth + 1));
    } else if (id == TypeId.Udt) {
      t.keyspace = r.str("udt keyspace");
      t.name = r.str("udt name");
      const n = r.u16("udt field count");
      if (!r.failed && <usize>n * 6 > r.remaining) {
        r.fail("udt field count " + n.toString() + " needs at least " + (n * 6).toString() + " bytes, " + r.remaining.toString() + " left");
      }
      for (let i: u32 = 0; i < n && !r.failed; i++) {
        t.fields.push(r.str("udt field name"));
        t.elems.push(Type.read(r, depth + 1));
      }
    } else if (id == TypeId.Tuple) {
      const n = r.u16("tuple component count");
      if (!r.failed && <usize>n * 2 > r.remaining) {
        r.fail("tuple component count " + n.toString() + " needs at least " + (n * 2).toString() + " bytes, " + r.remaining.toString() + " left");
      }
      for (let i: u32 = 0; i < n && !r.failed; i++) t.elems.push(Type.read(r, depth + 1));
    } else if (id == TypeId.Vector) {
      t.elems.push(Type.read(r, depth + 1));
      t.dim = r.u32("vector dimensions");
      if (!r.failed && t.dim == 0) r.fail("vector dimensions 0 (must be >= 1)");
    } else if (!knownScalar(id)) {
      if (r.err === null) r.err = r.what + ": unknown type id " + typeName(id).substring(5, 11) + " at byte " + at.toString();
    }
    return t;
  }

  /** CQL syntax, as the Go abi.Type.String: "map<text, frozen<list<int>>>". */
  toString(): string { return this.cql(false); }

  private cql(nested: bool): string {
    const frozen = nested && (this.isCollection() || this.id == TypeId.Udt);
    let s = "";
    const id = this.id;
    if (id == TypeId.List || id == TypeId.Set || id == TypeId.Map || id == TypeId.Tuple) {
      s = typeName(id) + "<";
      for (let i = 0; i < this.elems.length; i++) {
        if (i > 0) s += ", ";
        s += this.elems[i].cql(true);
      }
      s += ">";
    } else if (id == TypeId.Vector) {
      s = "vector<" + (this.elems.length > 0 ? this.elems[0].cql(true) : "") + ", " + this.dim.toString() + ">";
    } else if (id == TypeId.Udt) {
      s = (this.keyspace.length > 0 ? ident(this.keyspace) + "." : "") + ident(this.name);
    } else if (id == TypeId.Custom) {
      s = "'" + this.name.replaceAll("'", "''") + "'";
    } else {
      s = typeName(id);
    }
    return frozen ? "frozen<" + s + ">" : s;
  }
}

function ident(s: string): string {
  let plain = s.length > 0;
  for (let i = 0; i < s.length && plain; i++) {
    const c = s.charCodeAt(i);
    plain = (c >= 0x61 && c <= 0x7A) || c == 0x5F || (i > 0 && c >= 0x30 && c <= 0x39);
  }
  return plain ? s : "\"" + s.replaceAll("\"", "\"\"") + "\"";
}

/** One column: a name and a type. */
export class Column {
  constructor(public name: string, public type: Type) {}
}

/** The ordered columns of a page, or of rows written to an output. */
export class Schema {
  columns: Column[] = [];

  /** Appends a column and returns the schema (for chaining). */
  add(name: string, type: Type): Schema {
    this.columns.push(new Column(name, type));
    return this;
  }

  get length(): i32 { return this.columns.length; }

  /** The index of the column called `name` (exact), or -1. */
  index(name: string): i32 {
    for (let i = 0; i < this.columns.length; i++) if (this.columns[i].name == name) return i;
    return -1;
  }

  /** Same names and types in the same order. */
  equals(o: Schema): bool {
    if (this === o) return true;
    if (this.columns.length != o.columns.length) return false;
    for (let i = 0; i < this.columns.length; i++) {
      if (this.columns[i].name != o.columns[i].name || !this.columns[i].type.equals(o.columns[i].type)) return false;
    }
    return true;
  }

  /** Checks every column type; returns the problem or null. */
  validate(): string | null {
    for (let i = 0; i < this.columns.length; i++) {
      const e = this.columns[i].type.validate();
      if (e !== null) return "column " + i.toString() + " \"" + this.columns[i].name + "\": " + e;
    }
    return null;
  }

  /** Appends ncols × (str name, TypeDesc), without the count. */
  encodeColumns(w: ByteWriter): void {
    for (let i = 0; i < this.columns.length; i++) {
      w.str(this.columns[i].name);
      this.columns[i].type.encode(w);
    }
  }

  static readColumns(r: Reader, ncols: u32): Schema {
    const s = new Schema();
    if (<u64>ncols * 6 > <u64>r.remaining) {
      r.fail(ncols.toString() + " columns need at least " + (<u64>ncols * 6).toString() + " bytes, " + r.remaining.toString() + " left");
      return s;
    }
    for (let i: u32 = 0; i < ncols && !r.failed; i++) {
      const name = r.str("column name");
      const t = Type.read(r, 1);
      s.columns.push(new Column(name, t));
    }
    return s;
  }

  /** "name type, name type, ...". */
  toString(): string {
    let s = "";
    for (let i = 0; i < this.columns.length; i++) {
      if (i > 0) s += ", ";
      s += this.columns[i].name + " " + this.columns[i].type.toString();
    }
    return s;
  }
}
