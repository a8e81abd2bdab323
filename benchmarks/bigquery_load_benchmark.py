"""BigQuery warehouse-load stage on the local emulators: seconds and rows/s for one day at two
sizes 10x apart, and the number of load jobs issued per table per run (must be 1).

    export WAREHOUSE=bigquery; eval "$(make -s env)"
    .venv/bin/python benchmarks/bigquery_load_benchmark.py [--rows 20000]

Writes a county_population-shaped Parquet file of n and 10 x n rows to the S3 lake (days
2032-01-01 and 2032-01-02), runs the real `BigQueryWarehouse.load_day` for that table
(S3 -> GCS stream, one load job into a per-run table, transactional DELETE day + INSERT),
counts the load jobs the emulator recorded for that table and day, and removes the files
and staged rows afterwards. Emulator figures: they compare the two sizes and check the job
count; they do not predict BigQuery's own load times.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _parquet(n: int, table) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = table.arrow_schema()
    ts = datetime(2024, 1, 1, tzinfo=UTC)
    data = pa.table(
        {
            "county_fips": pa.array([f"{(i % 99999) + 1:05d}" for i in range(n)], pa.string()),
            "population_year": pa.array([1990 + i // 99999 for i in range(n)], pa.int16()),
            "population": pa.array([(i * 7919) % 1_000_000 for i in range(n)], pa.int64()),
            "updated_at": pa.array([ts] * n, pa.timestamp("us", tz="UTC")),
        },
        schema=schema,
    )
    buf = io.BytesIO()
    pq.write_table(data, buf)
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    if os.environ.get("WAREHOUSE") != "bigquery" or not os.environ.get("BIGQUERY_EMULATOR_HOST"):
        raise SystemExit(
            "run with WAREHOUSE=bigquery and the emulator env "
            '(export WAREHOUSE=bigquery; eval "$(make -s env)")'
        )
    from include.lake import TABLES, lake_location, object_key
    from include.warehouse.bigquery import BigQueryWarehouse, clients

    table = next(t for t in TABLES if t.name == "county_population")
    s3, bucket, prefix = lake_location()
    settings, bq, _ = clients()
    results = []
    for n, day in ((args.rows, date(2032, 1, 1)), (args.rows * 10, date(2032, 1, 2))):
        key = object_key(prefix, table.name, day)
        s3.put_object(Bucket=bucket, Key=key, Body=_parquet(n, table))
        started_at = datetime.now(UTC)
        try:
            t0 = time.perf_counter()
            loaded = BigQueryWarehouse().load_day(day, tables=(table,))
            seconds = time.perf_counter() - t0
            jobs = [
                j
                for j in bq.list_jobs(max_results=1000)
                if j.job_id.startswith(f"elt_load_{table.name}_{day:%Y%m%d}_")
                and j.created
                and j.created >= started_at.replace(microsecond=0)
            ]
            results.append((n, loaded[table.name], seconds, len(jobs)))
        finally:
            s3.delete_object(Bucket=bucket, Key=key)
            bq.query(
                f"delete from `{settings.project}.staging.{table.name}` "
                f"where _lake_day = DATE '{day.isoformat()}'"
            ).result()
    print(f"BigQuery warehouse load (emulator), table {table.name}")
    print(f"{'rows':>10} {'loaded':>10} {'seconds':>8} {'rows/s':>10} {'load jobs':>10}")
    for n, loaded, seconds, jobs in results:
        print(f"{n:>10} {loaded:>10} {seconds:>8.2f} {loaded / seconds:>10.0f} {jobs:>10}")
    small, large = results
    print(
        f"time ratio 10x rows: {large[2] / small[2]:.2f}x; "
        f"load jobs per table per run: {sorted({r[3] for r in results})} "
        f"({'PASS' if all(r[3] == 1 for r in results) else 'FAIL'}: must be 1)"
    )
    ok = all(r[3] == 1 and r[1] == r[0] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
