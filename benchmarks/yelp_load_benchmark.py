"""Yelp parse + land: rows/s for generated search pages at two sizes 10x apart, against a
per-row `INSERT ... ON CONFLICT` baseline, in one run.

    eval "$(make -s env)"; .venv/bin/python benchmarks/yelp_load_benchmark.py [--rows 10000]

Pages of 50 businesses (3 categories, 2 transactions each, the wire format of
/v3/businesses/search) are generated as JSON text first (not timed). The timed path is what
the pipeline runs per page: `orjson.loads` (as the client decodes) +
`include.sources.yelp.parser.parse_search` + `include.sources.yelp.land.land_search_page`
(COPY into a temp table, one upsert into raw.yelp_search, the progress update, one
transaction per page). The baseline parses the same way and inserts row by row with `INSERT
... ON CONFLICT DO UPDATE`, also one transaction per page. Targets: >= 4x the baseline's
rows/s, and 10x the rows in <= 11x the time. Rows land under logical dates in 2099 and are
deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAGE = 50
CATEGORIES = [
    ("pizza", "Pizza"),
    ("mexican", "Mexican"),
    ("coffee", "Coffee & Tea"),
    ("bars", "Bars"),
    ("vietnamese", "Vietnamese"),
]


def pages(n_rows: int, tag: str) -> list[str]:
    out = []
    for start in range(0, n_rows, PAGE):
        businesses = []
        for i in range(start, min(start + PAGE, n_rows)):
            businesses.append(
                {
                    "id": f"bench-{tag}-{i:08d}",
                    "alias": f"bench-{tag}-{i}",
                    "name": f"Café {i} Phở",
                    "is_closed": i % 17 == 0,
                    "url": f"https://www.yelp.com/biz/bench-{i}",
                    "review_count": i % 500,
                    "rating": 1 + (i % 9) / 2,
                    **({"price": "$" * (1 + i % 4)} if i % 5 else {}),
                    "phone": f"+1505{i % 10_000_000:07d}",
                    "categories": [
                        {"alias": a, "title": t}
                        for a, t in (
                            CATEGORIES[i % 5],
                            CATEGORIES[(i + 1) % 5],
                            CATEGORIES[(i + 2) % 5],
                        )
                    ],
                    "coordinates": {
                        "latitude": 32 + (i % 1000) / 1000,
                        "longitude": -106 - (i % 1000) / 1000,
                    },
                    "transactions": ["delivery", "pickup"][: i % 3],
                    "location": {
                        "address1": f"{i} Main St",
                        "address2": "",
                        "address3": None,
                        "city": "Las Cruces",
                        "zip_code": "88001",
                        "country": "US",
                        "state": "NM",
                        "display_address": [f"{i} Main St", "Las Cruces, NM 88001"],
                    },
                }
            )
        out.append(
            json.dumps(
                {
                    "businesses": businesses,
                    "total": n_rows,
                    "region": {"center": {"latitude": 32.3, "longitude": -106.7}},
                }
            )
        )
    return out


def run_copy(conn, day: date, payloads: list[str]) -> int:
    from include.sources.yelp.land import land_search_page
    from include.sources.yelp.parser import SearchPage, parse_search

    n = 0
    for k, text in enumerate(payloads):
        businesses, total = parse_search(orjson.loads(text))
        n += land_search_page(conn, day, "35013", SearchPage(businesses, total, k * PAGE))
    return n


def run_baseline(conn, day: date, payloads: list[str]) -> int:
    from include.sources.yelp.land import SEARCH_COLS, search_rows
    from include.sources.yelp.parser import parse_search

    cols = ", ".join(SEARCH_COLS)
    marks = ", ".join(["%s"] * len(SEARCH_COLS))
    updates = ", ".join(
        f"{c} = excluded.{c}"
        for c in SEARCH_COLS
        if c not in ("logical_date", "county_fips", "business_id")
    )
    stmt = (
        f"insert into raw.yelp_search ({cols}) values ({marks}) on conflict "
        f"(logical_date, county_fips, business_id) do update set {updates}"
    )
    n = 0
    for k, text in enumerate(payloads):
        businesses, _ = parse_search(orjson.loads(text))
        with conn.transaction():
            for row in search_rows(day, "35013", k * PAGE, businesses):
                conn.execute(stmt, row)
                n += 1
            conn.execute(
                "update yelp.progress set next_offset = %s where logical_date = %s "
                "and item_type = 'search' and item_key = '35013'",
                ((k + 1) * PAGE, day),
            )
    return n


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="interleaved repetitions; the best time of each is reported",
    )
    args = parser.parse_args()
    from include.connections import pg_connect
    from include.migrations import migrate

    migrate()
    sizes = (args.rows, args.rows * 10)
    data = {n: pages(n, str(n)) for n in sizes}
    results = {}
    with pg_connect("source_db", autocommit=True) as conn:
        try:
            for _ in range(args.repeat):  # interleaved: noise hits every method alike
                for k, n in enumerate(sizes):
                    for method, fn in (("copy", run_copy), ("baseline", run_baseline)):
                        day = date(2099, 1, 1 + 2 * k + (method == "baseline"))
                        conn.execute("delete from raw.yelp_search where logical_date = %s", (day,))
                        t0 = time.perf_counter()
                        rows = fn(conn, day, data[n])
                        secs = time.perf_counter() - t0
                        best = results.get((n, method), (rows, float("inf")))
                        results[(n, method)] = (rows, min(best[1], secs))
        finally:
            conn.execute("delete from raw.yelp_search where logical_date >= '2099-01-01'")
            conn.execute("delete from yelp.progress where logical_date >= '2099-01-01'")
    print(f"Yelp parse + land (raw.yelp_search), pages of 50, best of {args.repeat}")
    print(f"{'rows':>9} {'method':>9} {'seconds':>8} {'rows/s':>9}")
    for (n, method), (rows, secs) in results.items():
        assert rows == n, (n, method, rows)
        print(f"{n:>9} {method:>9} {secs:>8.2f} {rows / secs:>9.0f}")
    ok = True
    for n in sizes:
        ratio = results[(n, "baseline")][1] / results[(n, "copy")][1]
        ok &= ratio >= 4
        print(
            f"{n:>9} rows: COPY path {ratio:.2f}x the per-row baseline "
            f"({'PASS' if ratio >= 4 else 'FAIL'}: target >= 4x)"
        )
    scale = results[(sizes[1], "copy")][1] / results[(sizes[0], "copy")][1]
    ok &= scale <= 11
    print(f"10x rows took {scale:.2f}x the time ({'PASS' if scale <= 11 else 'FAIL'}: <= 11x)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
