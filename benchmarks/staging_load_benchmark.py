"""PostgreSQL staging load (`PostgresWarehouse.load_day`): rows/s and peak RSS at two sizes
10x apart, first loads and reloads of the day, in one run.

    eval "$(make -s env)"; .venv/bin/python benchmarks/staging_load_benchmark.py \
        [--rows 1000000] [--repeat 3]

Writes a lake file for n = --rows and 10 x --rows (12 columns, the export benchmark's shape,
values made with pyarrow compute, row groups of 50,000 rows as the export writes them) to
the local S3 of the `lake_s3` connection under the key the load reads (lake table
`bench_staging_<n>`, day 2031-01-01), and creates `staging.bench_staging_<n>` in
warehouse_db the way the staging migrations create a lake table's (the registry's
columns, `_lake_day`, `_loaded_at`, the `_lake_day` index). Then --repeat rounds, the sizes
interleaved: the staging table emptied, the real load of the day (`PostgresWarehouse` for
that one table: pending migrations, the staging check, download to a temp file, delete of
the day, COPY binary through ADBC, commit) as a first load, then again as a reload (the
day's rows are there and are replaced). Each load runs in a fresh child process, which
reports its peak RSS (`ru_maxrss`) and its baseline (after imports, connection, S3 client
and the ADBC driver's library, before the load). The parent prints every run, the best and
range of rows/s per size and kind against the target (>= 500k rows/s) and the large/small
peak RSS ratio (flat within 20%) with PASS/MISS, and removes the tables and the objects.
The timed part excludes making the file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The export benchmark's table shape (12 columns) and its peak-RSS reading.
from benchmarks.export_benchmark import COLUMNS, DAY, max_rss_mb  # noqa: E402

TARGET_ROWS_PER_S = 500_000
TARGET_RSS = 1.20
ROW_GROUP = 50_000


def table_name(n: int) -> str:
    return f"bench_staging_{n}"


def lake_table(n: int):
    from include.lake.table import LakeTable

    return LakeTable(table_name(n), ("id",), COLUMNS)


def row_group(start: int, stop: int, schema):
    """Rows start..stop-1, deterministic values from the row number, typed as `schema`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    i = np.arange(start, stop, dtype=np.int64)
    text = pc.cast(pa.array(i), pa.string())
    states = np.array(["AL", "AK", "NM", "PR"], dtype=object)
    columns = {
        "id": pa.array(i),
        "name": pc.binary_join_element_wise("name-", text, ""),
        "code": pc.utf8_lpad(pc.cast(pa.array((i * 2654435761) % 1000), pa.string()), 3, "0"),
        "city": pc.binary_join_element_wise(
            "city-", pc.cast(pa.array((i * 40503) % 5000), pa.string()), ""
        ),
        "state": pa.array(states[i % 4], pa.string()),
        "zip": pc.utf8_lpad(pc.cast(pa.array((i * 97) % 100000), pa.string()), 5, "0"),
        "amount_cents": pa.array((i * 7919) % 10000000),
        "qty": pa.array((i % 1000).astype(np.int16)),
        "score": pa.array((i * 31337) % 1000003),
        "flag": pa.array(i % 2 == 0),
        "note": pa.array(np.full(len(i), "Doña Ana ✓", dtype=object), pa.string()),
        "updated_at": pa.array(
            (1_704_067_200 + i) * 1_000_000, pa.timestamp("us", tz="UTC")
        ),  # 2024-01-01 + i s
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def write_lake_file(s3, bucket: str, key: str, n: int) -> float:
    """The lake file of n rows at `key`; returns its size in MB."""
    import os

    import pyarrow.parquet as pq

    schema = lake_table(n).arrow_schema()
    with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
        with pq.ParquetWriter(tmp.name, schema, compression="snappy") as writer:
            for start in range(1, n + 1, ROW_GROUP):
                writer.write_batch(row_group(start, min(start + ROW_GROUP, n + 1), schema))
        s3.upload_file(tmp.name, bucket, key)
        return os.path.getsize(tmp.name) / 2**20


def create_staging(conn, n: int, index: str) -> None:
    """staging.bench_staging_<n> as the staging migrations make a lake table's (`index`:
    brin as W002 makes it, btree as W001 made it)."""
    from psycopg import sql

    from include.warehouse.postgres import PG_TYPES

    t = sql.Identifier(table_name(n))
    conn.execute(sql.SQL("drop table if exists staging.{}").format(t))
    conn.execute(
        sql.SQL(
            "create table staging.{} ({}, _lake_day date not null, "
            "_loaded_at timestamptz not null default now())"
        ).format(
            t,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(PG_TYPES[ty]))
                for c, ty in COLUMNS
            ),
        )
    )
    conn.execute(
        sql.SQL("create index {} on staging.{} using {} (_lake_day){}").format(
            sql.Identifier(f"{table_name(n)}_lake_day"),
            t,
            sql.SQL(index),
            sql.SQL(" with (autosummarize = on)" if index == "brin" else ""),
        )
    )


def child(n: int) -> None:
    """One load of the day in this (fresh) process; prints one JSON line."""
    import adbc_driver_postgresql.dbapi  # noqa: F401
    import boto3  # noqa: F401
    import psycopg  # noqa: F401
    import pyarrow
    import pyarrow.parquet  # noqa: F401

    from include.connections import pg_connect
    from include.connections.adbc import adbc_connect
    from include.lake import lake_location
    from include.warehouse.postgres import PostgresWarehouse

    s3, bucket, _ = lake_location()
    s3.list_objects_v2(Bucket=bucket, MaxKeys=1)  # botocore fully loaded before the baseline
    with pg_connect("warehouse_db", autocommit=True) as conn:
        adbc_connect(conn).close()  # the driver's library loaded (once per process)
    warehouse = PostgresWarehouse(tables=(lake_table(n),))
    baseline = max_rss_mb()
    start = time.perf_counter()
    loaded = warehouse.load_day(DAY)
    seconds = time.perf_counter() - start
    peak = max_rss_mb()
    print(
        json.dumps(
            {
                "rows": loaded[table_name(n)],
                "seconds": seconds,
                "baseline_mb": baseline,
                "peak_mb": peak,
            }
        )
    )


def run_child(n: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode:
        sys.exit(f"staging load of {n} rows failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rows"] == n, result
    return result


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="small size; large is 10x")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds")
    parser.add_argument(
        "--index", choices=("btree", "brin"), default="brin", help="the _lake_day index"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)

    from psycopg import sql

    from include.connections import pg_connect
    from include.lake import lake_location, object_key

    sizes = (args.rows, args.rows * 10)
    s3, bucket, prefix = lake_location()
    runs: list[dict] = []
    files = {}
    with pg_connect("warehouse_db", autocommit=True) as conn:
        try:
            for n in sizes:
                files[n] = write_lake_file(s3, bucket, object_key(prefix, table_name(n), DAY), n)
                create_staging(conn, n, args.index)
            for rnd in range(args.repeat):
                for n in sizes if rnd % 2 == 0 else sizes[::-1]:
                    conn.execute(
                        sql.SQL("truncate staging.{}").format(sql.Identifier(table_name(n)))
                    )
                    for kind in ("first load", "reload"):
                        runs.append({"round": rnd + 1, "size": n, "kind": kind, **run_child(n)})
        finally:
            for n in sizes:
                conn.execute(
                    sql.SQL("drop table if exists staging.{}").format(sql.Identifier(table_name(n)))
                )
                s3.delete_object(Bucket=bucket, Key=object_key(prefix, table_name(n), DAY))

    print(
        "PostgreSQL staging load (PostgresWarehouse.load_day), 12 columns, one fresh process "
        f"per load, {args.repeat} interleaved rounds; lake files: "
        + ", ".join(f"{n:,} rows {files[n]:.1f} MB" for n in sizes)
    )
    print(
        f"{'round':>5} {'kind':<10} {'rows':>11} {'seconds':>8} {'rows/s':>10} "
        f"{'peak RSS MB':>12} {'baseline MB':>12} {'RSS delta MB':>13}"
    )
    for r in runs:
        print(
            f"{r['round']:>5} {r['kind']:<10} {r['rows']:>11,} {r['seconds']:>8.2f} "
            f"{r['rows'] / r['seconds']:>10,.0f} {r['peak_mb']:>12.1f} {r['baseline_mb']:>12.1f} "
            f"{r['peak_mb'] - r['baseline_mb']:>13.1f}"
        )
    for kind in ("first load", "reload"):
        for n in sizes:
            rates = [r["rows"] / r["seconds"] for r in runs if r["size"] == n and r["kind"] == kind]
            print(
                f"{kind:<10} {n:>11,} rows: best {max(rates):,.0f} rows/s "
                f"(range {min(rates):,.0f} - {max(rates):,.0f})  target >= "
                f"{TARGET_ROWS_PER_S:,}: {verdict(max(rates) >= TARGET_ROWS_PER_S)}"
            )
    small, large = sizes
    peaks = {n: [r["peak_mb"] for r in runs if r["size"] == n] for n in sizes}
    rss = max(peaks[large]) / min(peaks[small])
    print(
        f"peak RSS {large:,} / {small:,} rows (highest large / lowest small): {rss:.2f}  "
        f"(target <= {TARGET_RSS:.2f}: {verdict(rss <= TARGET_RSS)})"
    )


if __name__ == "__main__":
    main()
