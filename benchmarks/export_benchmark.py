"""Parquet lake export: rows/s and peak RSS at two table sizes 10x apart, in one run.

    eval "$(make -s env)"; .venv/bin/python benchmarks/export_benchmark.py [--rows 100000]

Generates `bench.bench_export_<n>` in source_db (12 columns with `updated_at`, like the load
benchmark) for n = --rows and 10 x --rows, then runs the real export path
(`include.lake.export.export_table`: server-side cursor -> Arrow batches -> ParquetWriter on
a temp file -> S3 upload) to the local S3 of the `lake_s3` connection. Each size runs in a
fresh child process, so the sizes do not share a heap: the child reports its peak RSS
(`ru_maxrss`) and its baseline (peak after imports, connection and S3 client, before the
export), and the parent prints the table and the large/small peak-RSS ratio against the
target (flat within 20%). The scratch tables, their `lake.exports` rows and the S3 objects
(under `<lake prefix>-bench/`) are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMA = "bench"
DAY = date(2031, 1, 1)
TARGET_RATIO = 1.20
# 12 columns, arrow types from LakeTable's vocabulary.
COLUMNS = (
    ("id", "int64"),
    ("name", "string"),
    ("code", "string"),
    ("city", "string"),
    ("state", "string"),
    ("zip", "string"),
    ("amount_cents", "int64"),
    ("qty", "int16"),
    ("score", "int64"),
    ("flag", "bool"),
    ("note", "string"),
    ("updated_at", "timestamp"),
)
DDL = """create table {schema}.{table} (id bigint, name text, code text, city text,
 state text, zip text, amount_cents bigint, qty smallint, score bigint, flag bool, note text,
 updated_at timestamptz not null)"""
# Deterministic pseudo-random values from the row number (no Python-side generation, so the
# parent's memory does not matter and the 10x table is quick to build).
FILL = """insert into {schema}.{table}
select i, 'name-' || i, 'C' || lpad(((i * 2654435761) % 1000)::text, 3, '0'),
       'city-' || ((i * 40503) % 5000), (array['AL', 'AK', 'NM', 'PR'])[1 + (i % 4)],
       lpad(((i * 97) % 100000)::text, 5, '0'), (i * 7919) % 10000000, (i % 1000)::smallint,
       (i * 31337) % 1000003, i % 2 = 0, 'Doña Ana ✓',
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second'
from generate_series(1::bigint, {n}) i"""


def table_name(n: int) -> str:
    return f"bench_export_{n}"


def lake_table(n: int):
    from include.lake.table import LakeTable

    return LakeTable(table_name(n), ("id",), COLUMNS)


def bench_prefix(prefix: str) -> str:
    return f"{prefix}-bench"


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(n: int) -> None:
    """One export in this (fresh) process; prints one JSON line."""
    import boto3  # noqa: F401
    import psycopg  # noqa: F401
    import pyarrow
    import pyarrow.parquet  # noqa: F401

    from include.connections import pg_connect
    from include.lake import lake_location, object_key
    from include.lake.export import export_table

    s3, bucket, prefix = lake_location()
    s3.list_objects_v2(Bucket=bucket, MaxKeys=1)  # botocore fully loaded before the baseline
    with pg_connect("source_db", autocommit=True) as conn:
        baseline = max_rss_mb()
        start = time.perf_counter()
        result = export_table(
            conn, s3, bucket, bench_prefix(prefix), lake_table(n), DAY, schema=SCHEMA
        )
        seconds = time.perf_counter() - start
        peak = max_rss_mb()
    head = s3.head_object(Bucket=bucket, Key=object_key(bench_prefix(prefix), table_name(n), DAY))
    print(
        json.dumps(
            {
                "rows": result.rows,
                "seconds": seconds,
                "baseline_mb": baseline,
                "peak_mb": peak,
                "file_mb": head["ContentLength"] / 2**20,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000, help="small size; large is 10x")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)

    from psycopg import sql

    from include.connections import pg_connect
    from include.lake import lake_location, object_key

    sizes = (args.rows, args.rows * 10)
    results = {}
    s3, bucket, prefix = lake_location()
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(SCHEMA)))
        try:
            for n in sizes:
                ident = dict(schema=sql.Identifier(SCHEMA), table=sql.Identifier(table_name(n)))
                conn.execute(sql.SQL("drop table if exists {schema}.{table}").format(**ident))
                conn.execute(sql.SQL(DDL).format(**ident))
                conn.execute(sql.SQL(FILL).format(n=sql.Literal(n), **ident))
                conn.execute(
                    sql.SQL("alter table {schema}.{table} add primary key (id)").format(**ident)
                )
                conn.execute(sql.SQL("analyze {schema}.{table}").format(**ident))
                # No earlier export: the whole table is exported.
                conn.execute("delete from lake.exports where table_name = %s", (table_name(n),))
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(n)],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
                if out.returncode:
                    sys.exit(f"export of {n} rows failed:\n{out.stderr}")
                results[n] = json.loads(out.stdout.strip().splitlines()[-1])
                assert results[n]["rows"] == n, results[n]
        finally:
            for n in sizes:
                conn.execute(
                    sql.SQL("drop table if exists {}.{}").format(
                        sql.Identifier(SCHEMA), sql.Identifier(table_name(n))
                    )
                )
                conn.execute("delete from lake.exports where table_name = %s", (table_name(n),))
                s3.delete_object(
                    Bucket=bucket, Key=object_key(bench_prefix(prefix), table_name(n), DAY)
                )

    print(
        "Parquet export (include.lake.export.export_table), 12 columns, one fresh process per size"
    )
    print(
        f"{'size':<6} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12} "
        f"{'baseline MB':>12} {'RSS delta MB':>13} {'file MB':>8}"
    )
    for label, n in zip(("small", "large"), sizes):
        r = results[n]
        rate = r["rows"] / r["seconds"]
        print(
            f"{label:<6} {r['rows']:>10,} {r['seconds']:>8.2f} {rate:>10,.0f} "
            f"{r['peak_mb']:>12.1f} {r['baseline_mb']:>12.1f} "
            f"{r['peak_mb'] - r['baseline_mb']:>13.1f} {r['file_mb']:>8.1f}"
        )
    small, large = (results[n] for n in sizes)
    ratio = large["peak_mb"] / small["peak_mb"]
    delta_ratio = (large["peak_mb"] - large["baseline_mb"]) / max(
        small["peak_mb"] - small["baseline_mb"], 1e-9
    )
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(
        f"peak RSS large/small: {ratio:.2f}  (target <= {TARGET_RATIO:.2f}: {verdict}); "
        f"RSS delta large/small: {delta_ratio:.2f}"
    )


if __name__ == "__main__":
    main()
