"""Yelp's day D as a resumable work queue in PostgreSQL (`yelp.progress`), landed in raw.*.

One item per county search and, once searches are done, one per business's reviews. Each
page of results is landed and its progress advanced in one transaction, so a stop at any
point (daily quota, call budget, crash) loses nothing and a later run for D resumes at the
next page. A record the parser sets aside lands in raw.yelp_quarantine with its reason, in
the same transaction as its page. An item Yelp cannot serve (a county search answering
LOCATION_NOT_FOUND, reviews answering BUSINESS_NOT_FOUND) is marked `skipped` with the
error, and the rest of the day goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import orjson

from include.landing import read_sql

log = logging.getLogger(__name__)

SEARCH_COLS = (
    "logical_date",
    "county_fips",
    "business_id",
    "search_offset",
    "alias",
    "name",
    "is_closed",
    "url",
    "phone",
    "review_count",
    "rating",
    "price",
    "latitude",
    "longitude",
    "address1",
    "address2",
    "address3",
    "city",
    "zip_code",
    "country",
    "state",
    "categories",
    "transactions",
)
REVIEW_COLS = (
    "logical_date",
    "business_id",
    "review_id",
    "user_id",
    "user_name",
    "user_profile_url",
    "user_image_url",
    "rating",
    "text",
    "time_created",
)
_COPY_SEARCH = f"copy raw.yelp_search ({', '.join(SEARCH_COLS)}) from stdin"
_COPY_REVIEWS = f"copy yelp_review_in ({', '.join(REVIEW_COLS)}) from stdin"
# Yelp error code -> the item type it skips (the item cannot be served; nothing to retry).
SKIP_CODES = {"LOCATION_NOT_FOUND": "search", "BUSINESS_NOT_FOUND": "reviews"}


@dataclass
class YelpFetch:
    """What working the day's queue did."""

    businesses: int = 0  # search rows landed
    reviews: int = 0  # review rows landed
    calls: int = 0  # HTTP calls made, retries included
    stopped: str | None = None  # why the quota or budget stopped the run, if it did
    pending: dict[str, int] = field(default_factory=dict)  # items left per item type
    rate_limit: dict = field(default_factory=dict)  # Yelp's last RateLimit-* headers
    quarantined: int = 0  # records set aside by this run (raw.yelp_quarantine)
    skipped: dict[str, int] = field(default_factory=dict)  # items skipped by this run, per type


def seed_searches(conn, day: date) -> int:
    return conn.execute(read_sql(__file__, "seed_searches"), {"d": day}).rowcount


def seed_reviews(conn, day: date) -> int:
    return conn.execute(read_sql(__file__, "seed_reviews"), {"d": day}).rowcount


def _pending(conn, day: date, item_type: str) -> list[tuple]:
    return conn.execute(
        "select item_key, location, next_offset from yelp.progress where logical_date = %s "
        "and item_type = %s and status = 'pending' order by item_key",
        (day, item_type),
    ).fetchall()


def search_rows(
    day: date, county_fips: str, offset: int, businesses, positions: list[int] | None = None
) -> list[tuple]:
    """raw.yelp_search rows of a page; `positions` are the businesses' search offsets
    (default: consecutive from `offset`)."""
    if positions is None:
        positions = range(offset, offset + len(businesses))
    return [
        (
            day,
            county_fips,
            b.business_id,
            position,
            b.alias,
            b.name,
            b.is_closed,
            b.url,
            b.phone or None,
            b.review_count,
            b.rating,
            b.price,
            b.latitude,
            b.longitude,
            b.address1,
            b.address2,
            b.address3,
            b.city,
            b.zip_code,
            b.country,
            b.state,
            orjson.dumps([list(c) for c in b.categories]).decode(),
            orjson.dumps(list(b.transactions)).decode(),
        )
        for position, b in zip(positions, businesses)
    ]


def _quarantine(conn, day: date, item_type: str, item_key: str, county_fips, rejected, base=0):
    """raw.yelp_quarantine rows of the records an answer set aside (`base` + their index is
    their position: the search offset, or the review's index)."""
    if not rejected:
        return
    with conn.cursor() as cur:
        cur.executemany(
            read_sql(__file__, "quarantine"),
            [
                {
                    "d": day,
                    "type": item_type,
                    "key": item_key,
                    "county": county_fips,
                    "record_position": base + r.index,
                    "record_id": r.record_id,
                    "reason": r.reason,
                    "raw": r.raw,
                }
                for r in rejected
            ],
        )


def land_search_page(conn, day: date, county_fips: str, page) -> int:
    """Land one page in one transaction: one statement deletes the page's keys (a resumed
    or repeated page replaces its rows) and advances the county's progress, then COPY puts
    the rows straight into raw.yelp_search. The page and its progress commit together, so a
    commit lost in a crash loses both and the page is fetched again: the commit need not
    wait for the WAL flush (synchronous_commit off for this transaction only). Measured
    against alternatives in docs/benchmarks.md. The page's set-aside records replace its
    quarantine rows (positions offset..next) in the same transaction."""
    rejected = getattr(page, "rejected", ())
    positions = page.positions() if rejected else None
    rows = search_rows(day, county_fips, page.offset, page.businesses, positions)
    with conn.transaction():
        conn.execute(
            read_sql(__file__, "page_prep"),
            {
                "d": day,
                "c": county_fips,
                "ids": [r[2] for r in rows],
                "page_offset": page.offset,
                "next": page.offset + len(page.businesses) + len(rejected),
            },
        )
        with conn.cursor().copy(_COPY_SEARCH) as copy:
            for row in rows:
                copy.write_row(row)
        _quarantine(conn, day, "search", county_fips, county_fips, rejected, page.offset)
    return len(rows)


def land_reviews(conn, day: date, asked_id: str, final_id: str, reviews, rejected=()) -> int:
    """Land one business's reviews (under its final id) and the reviews set aside, record a
    move, mark it done."""
    with conn.transaction():
        conn.execute(read_sql(__file__, "review_stage"))
        with conn.cursor().copy(_COPY_REVIEWS) as copy:
            for r in reviews:
                copy.write_row(
                    (
                        day,
                        final_id,
                        r.review_id,
                        r.user_id,
                        r.user_name,
                        r.user_profile_url,
                        r.user_image_url,
                        r.rating,
                        r.text,
                        r.time_created,
                    )
                )
        conn.execute(read_sql(__file__, "upsert_reviews"))
        conn.execute(read_sql(__file__, "review_quarantine_reset"), {"d": day, "key": asked_id})
        _quarantine(conn, day, "reviews", asked_id, None, rejected)
        if final_id != asked_id:
            conn.execute(
                read_sql(__file__, "record_move"), {"old": asked_id, "new": final_id, "d": day}
            )
        conn.execute(
            "update yelp.progress set status = 'done', detail = %s, updated_at = now() "
            "where logical_date = %s and item_type = 'reviews' and item_key = %s",
            (None if final_id == asked_id else f"moved to {final_id}", day, asked_id),
        )
    return len(reviews)


def skip_item(conn, day: date, item_type: str, item_key: str, error) -> None:
    """Mark an item Yelp cannot serve as skipped, with the error (what was landed stays)."""
    log.warning("Yelp %s item %s skipped for %s: %s", item_type, item_key, day, error)
    conn.execute(
        read_sql(__file__, "skip_item"),
        {"d": day, "type": item_type, "key": item_key, "detail": str(error)},
    )


def _skippable(exc, item_type: str) -> bool:
    return SKIP_CODES.get(getattr(exc, "code", None)) == item_type


def pending_items(conn, day: date) -> dict[str, int]:
    """Items of D's queue left, per item type (none: the day is complete)."""
    return dict(
        conn.execute(
            "select item_type, count(*) from yelp.progress where logical_date = %s and "
            "status = 'pending' group by 1",
            (day,),
        ).fetchall()
    )


def _queue(conn, day: date, item_type: str) -> tuple[int, int]:
    """(items of the type in D's queue, of those not pending any more)."""
    return conn.execute(
        "select count(*), count(*) filter (where status <> 'pending') from yelp.progress "
        "where logical_date = %s and item_type = %s",
        (day, item_type),
    ).fetchone()


def fetch(conn, day: date, client, progress=None) -> YelpFetch:
    """Work the day's queue until it is empty or the quota/budget stops it. `progress`
    (an `include.runs.progress.ProgressLog`) hears of every landed page and review answer:
    items done of the day's total, pages and calls of this run."""
    from include.sources.yelp.parser import YelpError, YelpQuotaExhausted

    seed_searches(conn, day)
    outcome = YelpFetch()
    pages = 0

    def report(phase: str, done: int, total: int, final: bool = False) -> None:
        if progress is not None:
            progress(
                final=final,
                day=day,
                phase=phase,
                done=done,
                total=total,
                pages=pages,
                rows=outcome.businesses + outcome.reviews,
                calls=client.calls,
            )

    def skipped(item_type, item_key, exc):
        skip_item(conn, day, item_type, item_key, exc)
        outcome.skipped[item_type] = outcome.skipped.get(item_type, 0) + 1

    phase, (total, done) = "county searches", _queue(conn, day, "search")
    try:
        report(phase, done, total)
        for county_fips, location, next_offset in _pending(conn, day, "search"):
            try:
                for page in client.search_all(location, start_offset=next_offset):
                    outcome.businesses += land_search_page(conn, day, county_fips, page)
                    outcome.quarantined += len(page.rejected)
                    pages += 1
                    report(phase, done, total)
            except YelpError as exc:
                if not _skippable(exc, "search"):
                    raise
                skipped("search", county_fips, exc)
                done += 1
                continue
            conn.execute(
                "update yelp.progress set status = 'done', updated_at = now() "
                "where logical_date = %s and item_type = 'search' and item_key = %s",
                (day, county_fips),
            )
            done += 1
        report(phase, done, total, final=True)
        seed_reviews(conn, day)
        phase, (total, done) = "business reviews", _queue(conn, day, "reviews")
        for business_id, _, _ in _pending(conn, day, "reviews"):
            try:
                answer = client.fetch_reviews(business_id)
            except YelpError as exc:
                if not _skippable(exc, "reviews"):
                    raise
                skipped("reviews", business_id, exc)
                done += 1
                continue
            outcome.reviews += land_reviews(
                conn, day, business_id, answer.final_id, answer.reviews, answer.rejected
            )
            outcome.quarantined += len(answer.rejected)
            pages += 1
            done += 1
            report(phase, done, total)
        report(phase, done, total, final=True)
    except YelpQuotaExhausted as exc:
        outcome.stopped = str(exc)
        log.warning(
            "Yelp quota/budget reached after %s calls: stopping with what the run "
            "has; the next run for %s resumes",
            client.calls,
            day,
        )
        report(phase, done, total, final=True)
    outcome.pending = pending_items(conn, day)
    outcome.calls = client.calls
    outcome.rate_limit = dict(getattr(client, "rate_limit", {}) or {})
    return outcome
