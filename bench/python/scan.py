"""Full-table scan with a Python Cassandra client, for bench/run.

Two clients, each with its best settings for a scan:

  --client driver  the DataStax/Apache cassandra-driver (PyPI
                   cassandra-driver, Cython build), synchronous paging:
                   session.execute(SimpleStatement(fetch_size=5000)) and
                   iteration over the ResultSet, which fetches the next page
                   when the current one is consumed;
  --client async   async-cassandra (PyPI async-cassandra, the
                   async-python-cassandra-client project): execute_stream()
                   with StreamConfig(fetch_size=5000), iterated with
                   `async for row in result`, its documented streaming API.

Both use the tuple row factory (the cheapest the driver offers: no named
tuple per row) and count the rows; nothing else is done with them. The
time measured runs from the query to the last row; connecting is not
counted. The result is one JSON line on stdout, as bench/cmd/rawscan
prints:

  {"tool": "python-driver", "rows": 1000000, "seconds": ..., "rows_per_s": ...}
"""

import argparse
import asyncio
import json
import re
import sys
import time


def scan_driver(host, port, stmt_text, fetch_size):
    from cassandra.cluster import Cluster
    from cassandra.query import SimpleStatement, tuple_factory

    cluster = Cluster([host], port=port)
    try:
        session = cluster.connect()
        session.row_factory = tuple_factory
        session.default_timeout = 60
        stmt = SimpleStatement(stmt_text, fetch_size=fetch_size)
        start = time.perf_counter()
        rows = 0
        for _ in session.execute(stmt):
            rows += 1
        return rows, time.perf_counter() - start
    finally:
        cluster.shutdown()


async def scan_async(host, port, stmt_text, fetch_size):
    from async_cassandra import AsyncCluster, StreamConfig
    from cassandra.query import tuple_factory

    cluster = AsyncCluster(contact_points=[host], port=port)
    try:
        session = await cluster.connect()
        # The wrapped cassandra-driver session; the row factory is a driver
        # setting that async-cassandra passes through.
        inner = getattr(session, "_session", None)
        if inner is not None:
            inner.row_factory = tuple_factory
            inner.default_timeout = 60
        start = time.perf_counter()
        rows = 0
        result = await session.execute_stream(stmt_text, stream_config=StreamConfig(fetch_size=fetch_size))
        async with result:
            async for _ in result:
                rows += 1
        elapsed = time.perf_counter() - start
        return rows, elapsed
    finally:
        # AsyncCassandraSession.close() and AsyncCluster.close() each sleep
        # 5 s after shutting the driver down (async_cassandra 0.0.1); that
        # is outside the measured scan, so shut the wrapped driver cluster
        # down directly and spare the smoke run 10 s.
        inner = getattr(cluster, "_cluster", None)
        if inner is not None:
            inner.shutdown()
        else:
            await cluster.shutdown()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--client", choices=["driver", "async"], required=True)
    ap.add_argument("--host", default="127.0.0.1:9042", help="contact point host:port")
    ap.add_argument("--keyspace", default="sluice_bench")
    ap.add_argument("--table", default="wide")
    ap.add_argument("--fetch-size", type=int, default=5000)
    ap.add_argument("--expect", type=int, default=0, help="fail unless exactly this many rows are read")
    a = ap.parse_args()
    if not re.fullmatch(r"[a-z][a-z0-9_]*", a.keyspace) or not re.fullmatch(r"[a-z][a-z0-9_]*", a.table):
        ap.error("keyspace and table must be lower-case identifiers")
    host, _, port = a.host.rpartition(":")
    if not host:
        host, port = a.host, "9042"
    stmt = "SELECT * FROM %s.%s" % (a.keyspace, a.table)
    if a.client == "driver":
        rows, secs = scan_driver(host, int(port), stmt, a.fetch_size)
        tool = "python-driver"
    else:
        rows, secs = asyncio.run(scan_async(host, int(port), stmt, a.fetch_size))
        tool = "python-async-cassandra"
    if a.expect and rows != a.expect:
        print("scan.py: read %d rows of %s.%s, expected %d" % (rows, a.keyspace, a.table, a.expect), file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"tool": tool, "rows": rows, "seconds": secs, "rows_per_s": rows / secs}))


if __name__ == "__main__":
    main()
