"""Independent read of a table with the Apache Cassandra Python driver.

  readback.py HOST KEYSPACE TABLE [COLUMN ...]

prints one JSON object per row, ordered by the first column, each value in
sluice's JSON form (docs/json.md) computed from the Python driver's own
decoding, so that sluice's JSONL output and a table sluice wrote can be
compared with what an independent client reads.

The Python driver decodes DynamicCompositeType and CompositeType itself and
LexicalUUIDType as a uuid; docs/json.md renders every custom type as the
base64 of its bytes, so those classes are unregistered here (the driver
then returns the raw bytes), and LexicalUUIDType is given its fixed length
of 16 bytes for vectors, as Cassandra serializes it.

The Python driver (3.30.1) cannot parse the type of a vector of a UDT or of
a map with collection values (its VectorType parameter parser fails). The
COLUMNs given are read as Cassandra's own toJson() instead (their values
are chosen so that toJson's form is sluice's) and left out of the driver's
query.
"""
import base64
import json
import sys

from cassandra import cqltypes

for n in ("DynamicCompositeType", "CompositeType", "LexicalUUIDType"):
    cqltypes._casstypes.pop(n, None)


class LexicalUUIDType(cqltypes._CassandraType):
    typename = "'org.apache.cassandra.db.marshal.LexicalUUIDType'"

    @staticmethod
    def deserialize(byts, protocol_version):
        return bytes(byts)

    @classmethod
    def serial_size(cls):
        return 16


cqltypes._casstypes["LexicalUUIDType"] = LexicalUUIDType

from cassandra.cluster import Cluster  # noqa: E402


def dur(d):
    months, days, ns = d.months, d.days, d.nanoseconds
    neg = months < 0 or days < 0 or ns < 0
    months, days, ns = abs(months), abs(days), abs(ns)
    out = "-" if neg else ""
    for n, u in ((months // 12, "y"), (months % 12, "mo"), (days, "d"), (ns // 3600_000_000_000, "h"),
                 (ns // 60_000_000_000 % 60, "m"), (ns // 1_000_000_000 % 60, "s"), (ns // 1_000_000 % 1000, "ms"),
                 (ns // 1000 % 1000, "us"), (ns % 1000, "ns")):
        if n:
            out += "%d%s" % (n, u)
    return out if out not in ("", "-") else "0s"


def norm(v, t):
    if v is None:
        return None
    name = t.typename
    if name == "frozen":
        return norm(v, t.subtypes[0])
    if name.endswith("VectorType"):
        return [norm(e, t.subtype) for e in v]
    if name in ("list", "set"):
        sub = t.subtypes[0]
        return [norm(e, sub) for e in v]
    if name == "map":
        k, vt = t.subtypes
        if k.typename in ("text", "varchar", "ascii"):
            return {kk: norm(vv, vt) for kk, vv in v.items()}
        return [[norm(kk, k), norm(vv, vt)] for kk, vv in v.items()]
    if name == "tuple":
        return [norm(e, s) for e, s in zip(v, t.subtypes)]
    if name in ("blob",) or isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if getattr(t, "fieldnames", None) is not None:
        return {f: norm(getattr(v, f, None) if not isinstance(v, tuple) else e, s)
                for f, e, s in zip(t.fieldnames, list(v) + [None] * len(t.fieldnames), t.subtypes)}
    if name in ("varint", "decimal"):
        return str(v)
    if name == "timestamp":
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (v.microsecond // 1000)
    if name in ("uuid", "timeuuid", "inet", "date"):
        return str(v)
    if name == "time":
        ns = v.nanosecond_time
        return "%02d:%02d:%02d.%09d" % (ns // 3600_000_000_000, ns // 60_000_000_000 % 60, ns // 1_000_000_000 % 60, ns % 1_000_000_000)
    if name == "duration":
        return dur(v)
    return v


def main():
    host, ks, table = sys.argv[1:4]
    server_json = sys.argv[4:]
    port = 9042
    if ":" in host:
        host, port = host.rsplit(":", 1)
    cluster = Cluster([host], port=int(port))
    try:
        s = cluster.connect()
        cols = [r.column_name for r in s.execute(
            "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s", (ks, table))]
        key = [r.column_name for r in s.execute(
            "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s AND kind = 'partition_key' ALLOW FILTERING", (ks, table))][0]
        sel = [c for c in cols if c not in server_json]
        rs = s.execute('SELECT %s FROM "%s"."%s"' % (", ".join('"%s"' % c for c in sel), ks, table))
        names, types = rs.column_names, rs.column_types
        rows = {}
        for r in rs:
            row = dict((n, norm(v, t)) for n, v, t in zip(names, r, types))
            rows[json.dumps(row[key])] = row
        for c in server_json:
            for r in s.execute('SELECT "%s", toJson("%s") FROM "%s"."%s"' % (key, c, ks, table)):
                rows[json.dumps(r[0])][c] = json.loads(r[1])
        names = [key]
        rows = list(rows.values())
    finally:
        cluster.shutdown()
    rows.sort(key=lambda r: json.dumps(r[names[0]]))
    for r in rows:
        print(json.dumps(r, sort_keys=True))


if __name__ == "__main__":
    main()
