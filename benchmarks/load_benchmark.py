"""Postgres load path vs baselines, side by side on the same generated rows.

    eval "$(make -s env)"
    .venv/bin/python benchmarks/load_benchmark.py [--rows 200000] [--repeat 3]

Prints rows/s of: the project's path (`copy_upsert`: binary COPY, straight into an empty
target or via a temp table + one MERGE that skips unchanged rows), a psycopg `executemany`
upsert baseline, and raw binary COPY into an unindexed table (the ceiling); then the
ratios. Each is run on a fresh empty table (first load), and the project path again on
unchanged data (a rerun) and on data with 10% of the rows changed. Every method runs
--repeat times, interleaved, on the same rows; the best time of each is reported (the
machine is shared, so the best is the least disturbed run), with the range.
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


def changed_copy(rows: list[tuple], every: int = 10) -> list[tuple]:
    """The same rows with the name of every `every`-th row changed."""
    return [r[:1] + (r[1] + "-v2",) + r[2:] if r[0] % every == 0 else r for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.rows
    rows = generate(n)
    changed_rows = changed_copy(rows)
    n_changed = sum(1 for r in rows if r[0] % 10 == 0)
    times: dict[str, list[float]] = {k: [] for k in ("first", "rerun", "changed", "baseline",
                                                     "ceiling")}
    with pg_connect("source_db", autocommit=True) as conn:
        def fresh(t):
            conn.execute(f"drop table if exists oltp.{t}")
            conn.execute(DDL.format(t=t))

        def upsert(data, expected):
            def run():
                got = copy_upsert(conn, "bench_project", ("id",), COLS, data, TYPES)
                assert got == expected, (got, expected)
            return run

        placeholders = ", ".join(["%s"] * len(COLS))
        sets = ", ".join(f"{c} = excluded.{c}" for c in COLS[1:])

        def executemany():
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(f"insert into oltp.bench_executemany ({', '.join(COLS)}) values "
                                f"({placeholders}) on conflict (id) do update set {sets}", rows)

        def raw_copy():
            with conn.transaction(), conn.cursor().copy(
                    f"copy bench_raw ({', '.join(COLS)}) from stdin (format binary)") as copy:
                copy.set_types(list(TYPES))
                for r in rows:
                    copy.write_row(r)

        for _ in range(args.repeat):
            fresh("bench_project")
            times["first"].append(timed(upsert(rows, n)))
            times["rerun"].append(timed(upsert(rows, 0)))
            times["changed"].append(timed(upsert(changed_rows, n_changed)))
            count = conn.execute("select count(*) from oltp.bench_project").fetchone()[0]
            assert count == n, count

            fresh("bench_executemany")
            times["baseline"].append(timed(executemany))

            conn.execute("drop table if exists bench_raw")
            conn.execute(DDL.format(t="x").replace("oltp.x", "bench_raw")
                         .replace(" primary key", ""))
            times["ceiling"].append(timed(raw_copy))
        for t in ("oltp.bench_project", "oltp.bench_executemany", "bench_raw"):
            conn.execute(f"drop table {t}")

    best = {k: min(v) for k, v in times.items()}
    labels = {"first": "project: copy_upsert, first load (empty target)",
              "rerun": "project: rerun, unchanged rows skipped",
              "changed": "project: rerun, 10% of rows changed",
              "baseline": "baseline: executemany upsert",
              "ceiling": "ceiling: raw COPY binary, unindexed"}
    print(f"rows: {n}, 12 columns, best of {args.repeat} (range in brackets)")
    for k, label in labels.items():
        print(f"{label:<50} {n / best[k]:>10,.0f} rows/s  "
              f"[{n / max(times[k]):,.0f} - {n / min(times[k]):,.0f}]")
    print(f"first load / executemany: {best['baseline'] / best['first']:.2f}x  (target >= 2.5x)")
    for k in ("first", "rerun", "changed"):
        print(f"{k + ' / raw COPY:':<26}{best['ceiling'] / best[k]:.0%}  (target >= 60%)")


if __name__ == "__main__":
    main()
