"""Parquet lake export: the ADBC path against the old psycopg path and against a bare ADBC
read + Parquet write of the same table (the ceiling), and peak RSS at two sizes 10x apart,
in one run.

    eval "$(make -s env)"; .venv/bin/python benchmarks/export_benchmark.py \
        [--rows 1000000] [--repeat 5]

Generates `bench.bench_export_<n>` in source_db (12 columns with `updated_at`, values made
in SQL) for n = --rows and 10 x --rows. On the --rows table, --repeat rounds each run four
paths, each in a fresh child process, in an order that rotates from round to round:
- new: the real export (`include.lake.export.export_table`, autocommit connection: its
  own REPEATABLE READ transaction, the snapshot handed to an ADBC session, COPY binary ->
  Arrow -> ParquetWriter on a temp file -> S3 upload -> `lake.exports`);
- old: the export as it was before ADBC, written out here (`old_export`, independent of the
  code it is compared with): psycopg server-side cursor, `fetchmany(50,000)`, Python tuples
  -> `pa.array` -> ParquetWriter -> the same upload and `lake.exports` row;
- bare: `select *` of the table through ADBC, each batch as the driver gives it into a
  ParquetWriter on a temp file (snappy); no order, no cast, no upload. The target's
  ceiling;
- keyed (for information): the same, but the export's own query (its columns, its upper
  bound, `order by` the key): what is left between the two is the export's own work (the
  snapshot handoff, the registry types, 50,000-row row groups, the upload, `lake.exports`).
Then the new path once on the 10x table, for the RSS ratio. A child reports its peak RSS
(`ru_maxrss`) and its baseline (peak after imports, connection, S3 client and, for the ADBC
paths, the driver's library loaded by one connection, before the export). The parent
prints every run, the ratios (best against best, and the range over the rounds' paired
runs) against the targets with PASS/MISS, and removes the tables, their `lake.exports`
rows and the S3 objects (under `<lake prefix>-bench/` and `-bench-old/`).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMA = "bench"
DAY = date(2031, 1, 1)
PATHS = ("old", "new", "bare", "keyed")
# Targets (issue 14, target 1).
TARGET_VS_OLD = 3.0  # new path >= 3x the old path's rows/s
TARGET_VS_BARE = 0.80  # new path >= 80% of the bare ADBC read + Parquet write
TARGET_RSS = 1.20  # peak RSS at 10x the rows within 20%
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


def bench_prefix(prefix: str, path: str = "new") -> str:
    return f"{prefix}-bench-old" if path == "old" else f"{prefix}-bench"


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the old path, as include/lake/export.py had it before ADBC (kept here as the baseline)

OLD_BATCH_ROWS = 50_000
OLD_SAFE_UPPER_BOUND = (
    "select least(now(), min(xact_start)) from pg_stat_activity "
    "where datname = current_database() and pid <> pg_backend_pid() "
    "and backend_type = 'client backend' and xact_start is not null"
)


def old_export(conn, s3, bucket: str, prefix: str, table, day: date, schema: str) -> int:
    """The export before ADBC: server-side cursor -> fetchmany -> Python tuples -> pa.array
    -> ParquetWriter -> upload -> lake.exports; returns the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from psycopg import sql

    from include.lake import object_key, target_name

    target = target_name()
    lower = conn.execute(
        "select max(watermark_to) from lake.exports "
        "where target = %s and table_name = %s and day < %s",
        (target, table.name, day),
    ).fetchone()[0]
    arrow_schema = table.arrow_schema()
    query = sql.SQL(
        "select {cols} from {s}.{t} where (%(lower)s::timestamptz is null or "
        "updated_at >= %(lower)s) and updated_at < %(upper)s order by {key}"
    ).format(
        cols=sql.SQL(", ").join(
            sql.SQL("{}::float8").format(sql.Identifier(c)) if t == "float64" else sql.Identifier(c)
            for c, t in table.columns
        ),
        s=sql.Identifier(schema),
        t=sql.Identifier(table.name),
        key=sql.SQL(", ").join(map(sql.Identifier, table.key)),
    )
    rows = 0
    key = object_key(prefix, table.name, day, target)
    with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
        with conn.transaction(), conn.cursor(name=f"old_export_{table.name}") as cur:
            conn.execute("set transaction isolation level repeatable read")
            upper = conn.execute(OLD_SAFE_UPPER_BOUND).fetchone()[0]
            cur.itersize = OLD_BATCH_ROWS
            cur.execute(query, {"lower": lower, "upper": upper})
            with pq.ParquetWriter(tmp.name, arrow_schema, compression="snappy") as writer:
                while batch := cur.fetchmany(OLD_BATCH_ROWS):
                    columns = list(zip(*batch))
                    writer.write_batch(
                        pa.RecordBatch.from_arrays(
                            [pa.array(col, type=f.type) for col, f in zip(columns, arrow_schema)],
                            schema=arrow_schema,
                        )
                    )
                    rows += len(batch)
        s3.upload_file(tmp.name, bucket, key)
    conn.execute(
        "insert into lake.exports (target, table_name, day, watermark_from, watermark_to, "
        "row_count, s3_key) values (%s, %s, %s, %s, %s, %s, %s) "
        "on conflict (target, table_name, day) do update set "
        "watermark_from = excluded.watermark_from, watermark_to = excluded.watermark_to, "
        "row_count = excluded.row_count, s3_key = excluded.s3_key, exported_at = now()",
        (target, table.name, day, lower, upper, rows, key),
    )
    return rows


def bare_export(conn, n: int, keyed: bool = False) -> tuple[int, int]:
    """The ceiling: `select *` through ADBC into a ParquetWriter, nothing else (`keyed`:
    the export's columns, upper bound and key order instead); returns (rows, file bytes)."""
    import os

    import adbc_driver_postgresql.dbapi
    import pyarrow.parquet as pq

    from include.connections.adbc import conninfo

    rows = 0
    with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
        with adbc_driver_postgresql.dbapi.connect(conninfo(conn)) as arrow:
            cur = arrow.cursor()
            cols = ", ".join(c for c, _ in COLUMNS)
            cur.execute(
                f"select {cols} from {SCHEMA}.{table_name(n)} where updated_at < now() order by id"
                if keyed
                else f"select * from {SCHEMA}.{table_name(n)}"
            )
            reader = cur.fetch_record_batch()
            with pq.ParquetWriter(tmp.name, reader.schema, compression="snappy") as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
            cur.close()
        return rows, os.path.getsize(tmp.name)


def child(path: str, n: int) -> None:
    """One export in this (fresh) process; prints one JSON line."""
    import adbc_driver_postgresql.dbapi  # noqa: F401
    import boto3  # noqa: F401
    import psycopg  # noqa: F401
    import pyarrow
    import pyarrow.parquet  # noqa: F401

    from include.connections import pg_connect
    from include.connections.adbc import adbc_connect
    from include.lake import lake_location, object_key
    from include.lake.export import export_table

    s3, bucket, prefix = lake_location()
    s3.list_objects_v2(Bucket=bucket, MaxKeys=1)  # botocore fully loaded before the baseline
    with pg_connect("source_db", autocommit=True) as conn:
        if path != "old":
            # The driver's library loaded (about 0.5 s, once per process) before the clock.
            adbc_connect(conn).close()
        baseline = max_rss_mb()
        start = time.perf_counter()
        if path == "new":
            rows = export_table(
                conn, s3, bucket, bench_prefix(prefix), lake_table(n), DAY, schema=SCHEMA
            ).rows
        elif path == "old":
            rows = old_export(
                conn, s3, bucket, bench_prefix(prefix, "old"), lake_table(n), DAY, SCHEMA
            )
        else:
            rows, size = bare_export(conn, n, keyed=path == "keyed")
        seconds = time.perf_counter() - start
        peak = max_rss_mb()
    if path in ("new", "old"):
        key = object_key(bench_prefix(prefix, path), table_name(n), DAY)
        size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    print(
        json.dumps(
            {
                "path": path,
                "rows": rows,
                "seconds": seconds,
                "baseline_mb": baseline,
                "peak_mb": peak,
                "file_mb": size / 2**20,
            }
        )
    )


def run_child(path: str, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", path, str(n)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode:
        sys.exit(f"{path} export of {n} rows failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rows"] == n, result
    return result


def build(conn, n: int) -> None:
    from psycopg import sql

    ident = dict(schema=sql.Identifier(SCHEMA), table=sql.Identifier(table_name(n)))
    conn.execute(sql.SQL("drop table if exists {schema}.{table}").format(**ident))
    conn.execute(sql.SQL(DDL).format(**ident))
    conn.execute(sql.SQL(FILL).format(n=sql.Literal(n), **ident))
    conn.execute(sql.SQL("alter table {schema}.{table} add primary key (id)").format(**ident))
    conn.execute(sql.SQL("vacuum analyze {schema}.{table}").format(**ident))
    # No earlier export: the whole table is exported.
    conn.execute("delete from lake.exports where table_name = %s", (table_name(n),))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="ratio size; RSS also at 10x")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds of the 4 paths")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]))

    from psycopg import sql

    from include.connections import pg_connect
    from include.lake import lake_location, object_key

    small, large = args.rows, args.rows * 10
    runs: list[dict] = []
    s3, bucket, prefix = lake_location()
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(SCHEMA)))
        try:
            build(conn, small)
            for rnd in range(args.repeat):
                order = PATHS[rnd % len(PATHS) :] + PATHS[: rnd % len(PATHS)]
                for path in order:
                    runs.append({"round": rnd + 1, "size": small, **run_child(path, small)})
            build(conn, large)
            runs.append({"round": 1, "size": large, **run_child("new", large)})
        finally:
            for n in (small, large):
                conn.execute(
                    sql.SQL("drop table if exists {}.{}").format(
                        sql.Identifier(SCHEMA), sql.Identifier(table_name(n))
                    )
                )
                conn.execute("delete from lake.exports where table_name = %s", (table_name(n),))
                for path in ("new", "old"):
                    key = object_key(bench_prefix(prefix, path), table_name(n), DAY)
                    s3.delete_object(Bucket=bucket, Key=key)

    print(
        "Parquet lake export, 12 columns, one fresh process per run "
        f"({args.repeat} interleaved rounds at {small:,} rows, the new path once at {large:,})"
    )
    print(
        f"{'round':>5} {'path':<5} {'rows':>11} {'seconds':>8} {'rows/s':>10} "
        f"{'peak RSS MB':>12} {'baseline MB':>12} {'RSS delta MB':>13} {'file MB':>8}"
    )
    for r in runs:
        print(
            f"{r['round']:>5} {r['path']:<5} {r['rows']:>11,} {r['seconds']:>8.2f} "
            f"{r['rows'] / r['seconds']:>10,.0f} {r['peak_mb']:>12.1f} {r['baseline_mb']:>12.1f} "
            f"{r['peak_mb'] - r['baseline_mb']:>13.1f} {r['file_mb']:>8.1f}"
        )

    def seconds(path: str) -> list[float]:
        return [r["seconds"] for r in runs if r["path"] == path and r["size"] == small]

    old, new, bare, keyed = (seconds(p) for p in PATHS)
    for path, times in zip(PATHS, (old, new, bare, keyed)):
        print(
            f"{path:<5} at {small:,} rows: best {small / min(times):,.0f} rows/s "
            f"(range {small / max(times):,.0f} - {small / min(times):,.0f})"
        )
    vs_old = [o / n for o, n in zip(old, new)]
    vs_bare = [b / n for b, n in zip(bare, new)]
    vs_keyed = [k / n for k, n in zip(keyed, new)]
    best_old, best_bare = min(old) / min(new), min(bare) / min(new)
    print(
        f"new / old rows/s: best {best_old:.2f}x (rounds {min(vs_old):.2f}-{max(vs_old):.2f}x)  "
        f"target >= {TARGET_VS_OLD:.0f}x: {verdict(best_old >= TARGET_VS_OLD)}"
    )
    print(
        f"new / bare ADBC read + Parquet write: best {best_bare:.0%} "
        f"(rounds {min(vs_bare):.0%}-{max(vs_bare):.0%})  "
        f"target >= {TARGET_VS_BARE:.0%}: {verdict(best_bare >= TARGET_VS_BARE)}"
    )
    print(
        f"new / keyed ADBC read (the export's query) + Parquet write: best "
        f"{min(keyed) / min(new):.0%} (rounds {min(vs_keyed):.0%}-{max(vs_keyed):.0%})  "
        "(information: the export's own work)"
    )
    small_peak = min(r["peak_mb"] for r in runs if r["path"] == "new" and r["size"] == small)
    large_run = next(r for r in runs if r["size"] == large)
    rss = large_run["peak_mb"] / small_peak
    delta = (large_run["peak_mb"] - large_run["baseline_mb"]) / max(
        min(
            r["peak_mb"] - r["baseline_mb"]
            for r in runs
            if r["path"] == "new" and r["size"] == small
        ),
        1e-9,
    )
    print(
        f"new path peak RSS {large:,} / {small:,} rows: {rss:.2f}  "
        f"(target <= {TARGET_RSS:.2f}: {verdict(rss <= TARGET_RSS)}); RSS delta ratio {delta:.2f}"
    )


if __name__ == "__main__":
    main()
