"""Postgres load path vs baselines, side by side on the same generated rows.

    eval "$(make -s env)"; .venv/bin/python benchmarks/load_benchmark.py [--rows 200000]

Prints rows/s of: the project's path (binary COPY into a temp table + one upsert that
skips unchanged rows), a psycopg `executemany` upsert baseline, and raw binary COPY into
an unindexed table (the ceiling); then the ratios. Each is run on a fresh empty table
(first load), and the project path again on unchanged data (a rerun).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.connections import pg_connect  # noqa: E402
from include.postgres_load import copy_upsert  # noqa: E402

COLS = ("id", "name", "code", "city", "state", "zip", "amount", "qty", "score", "flag",
        "day", "note")
TYPES = ("int8", "text", "text", "text", "text", "text", "numeric", "int4", "float8", "bool",
         "date", "text")
DDL = """create table oltp.{t} (id bigint primary key, name text, code text, city text,
 state text, zip text, amount numeric, qty int, score float8, flag bool, day date, note text,
 updated_at timestamptz not null default now())"""


def generate(n: int, seed: int = 7) -> list[tuple]:
    rnd = random.Random(seed)
    base = date(2024, 1, 1)
    from decimal import Decimal
    return [(i, f"name-{i}", f"C{rnd.randrange(1000):03d}", f"city-{rnd.randrange(5000)}",
             rnd.choice(["AL", "AK", "NM", "PR"]), f"{rnd.randrange(100000):05d}",
             Decimal(rnd.randrange(10**7)) / 100, rnd.randrange(1000), rnd.random(),
             rnd.random() < 0.5, base + timedelta(days=rnd.randrange(365)), "Doña Ana ✓")
            for i in range(n)]


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    rows = generate(args.rows)
    with pg_connect("source_db", autocommit=True) as conn:
        def fresh(t):
            conn.execute(f"drop table if exists oltp.{t}")
            conn.execute(DDL.format(t=t))

        fresh("bench_project")
        project = timed(lambda: copy_upsert(conn, "bench_project", ("id",), COLS, rows, TYPES))
        rerun = timed(lambda: copy_upsert(conn, "bench_project", ("id",), COLS, rows, TYPES))

        fresh("bench_executemany")
        placeholders = ", ".join(["%s"] * len(COLS))
        sets = ", ".join(f"{c} = excluded.{c}" for c in COLS[1:])

        def executemany():
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(f"insert into oltp.bench_executemany ({', '.join(COLS)}) values "
                                f"({placeholders}) on conflict (id) do update set {sets}", rows)
        baseline = timed(executemany)

        conn.execute("drop table if exists bench_raw")
        conn.execute(DDL.format(t="x").replace("oltp.x", "bench_raw")
                     .replace(" primary key", ""))

        def raw_copy():
            with conn.transaction(), conn.cursor().copy(
                    f"copy bench_raw ({', '.join(COLS)}) from stdin (format binary)") as copy:
                copy.set_types(list(TYPES))
                for r in rows:
                    copy.write_row(r)
        ceiling = timed(raw_copy)
        count = conn.execute("select count(*) from oltp.bench_project").fetchone()[0]
        assert count == args.rows, count
        for t in ("oltp.bench_project", "oltp.bench_executemany", "bench_raw"):
            conn.execute(f"drop table {t}")

    n = args.rows
    print(f"rows: {n}, 12 columns")
    print(f"{'project: COPY binary + upsert (first load)':<48} {n / project:>10,.0f} rows/s")
    print(f"{'project: rerun, unchanged rows skipped':<48} {n / rerun:>10,.0f} rows/s")
    print(f"{'baseline: executemany upsert':<48} {n / baseline:>10,.0f} rows/s")
    print(f"{'ceiling: raw COPY binary, unindexed':<48} {n / ceiling:>10,.0f} rows/s")
    print(f"project / executemany: {baseline / project:.2f}x  (target >= 2.5x)")
    print(f"project / raw COPY:    {ceiling / project:.0%}  (target >= 60%)")


if __name__ == "__main__":
    main()
