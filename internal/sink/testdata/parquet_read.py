"""Read every part-*.parquet of a directory with pyarrow (the independent
reader of the parquet sink's tests) and print one JSON object: the Arrow
schema of each file as text, and every row, with values in a canonical
form the Go test compares value by value:

  timestamp -> ["ts", milliseconds since the epoch]
  date      -> ["date", days since the epoch]
  time      -> ["time", nanoseconds since midnight]
  decimal   -> ["dec", str(Decimal)]
  bytes     -> ["hex", hex]
  uuid      -> ["uuid", str]
  map       -> [[key, value], ...]
Top-level time/timestamp/date columns are cast to integers in Arrow, so no
precision is lost to Python's datetime."""
import datetime, decimal, glob, json, os, sys, uuid

import pyarrow as pa
import pyarrow.parquet as pq

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def canon(v, t):
    if v is None:
        return None
    if pa.types.is_timestamp(t):
        return ["ts", (v - EPOCH) // datetime.timedelta(milliseconds=1)]
    if pa.types.is_date(t):
        return ["date", (v - datetime.date(1970, 1, 1)).days]
    if pa.types.is_time(t):
        return ["time", ((v.hour * 60 + v.minute) * 60 + v.second) * 10**9 + v.microsecond * 1000]
    if pa.types.is_decimal(t):
        return ["dec", str(v)]
    if pa.types.is_map(t):
        return [[canon(k, t.key_type), canon(x, t.item_type)] for k, x in v]
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return [canon(x, t.value_type) for x in v]
    if pa.types.is_struct(t):
        return {t.field(i).name: canon(v[t.field(i).name], t.field(i).type) for i in range(t.num_fields)}
    if isinstance(v, uuid.UUID):
        return ["uuid", str(v)]
    if isinstance(t, pa.ExtensionType) or (hasattr(pa, "uuid") and str(t) in ("extension<arrow.uuid>", "uuid")):
        return ["uuid", str(uuid.UUID(bytes=bytes(v)))] if isinstance(v, (bytes, bytearray)) else ["uuid", str(v)]
    if isinstance(v, (bytes, bytearray)):
        return ["hex", bytes(v).hex()]
    if isinstance(v, float) and v != v:
        return "NaN"
    return v


def main(d):
    out = {"files": [], "rows": []}
    for path in sorted(glob.glob(os.path.join(d, "part-*.parquet"))):
        tbl = pq.read_table(path)
        out["files"].append({"name": os.path.basename(path), "schema": str(tbl.schema), "rows": tbl.num_rows})
        cols = {}
        for f in tbl.schema:
            c = tbl.column(f.name)
            if pa.types.is_timestamp(f.type) or pa.types.is_time64(f.type):
                cols[f.name] = [None if x is None else ["ts" if pa.types.is_timestamp(f.type) else "time", x] for x in c.cast(pa.int64()).to_pylist()]
            elif pa.types.is_date32(f.type):
                cols[f.name] = [None if x is None else ["date", x] for x in c.cast(pa.int32()).to_pylist()]
            else:
                cols[f.name] = [canon(x, f.type) for x in c.to_pylist()]
        for i in range(tbl.num_rows):
            out["rows"].append({k: v[i] for k, v in cols.items()})
    json.dump(out, sys.stdout, sort_keys=True)


main(sys.argv[1])
