"""Yelp Fusion for logical day D: county searches and business reviews, quota-aware and
resumable, landed in raw.*, checked, normalized into the OLTP business model.

The day's work is a queue in PostgreSQL (`yelp.progress`): one item per county search and,
once searches are done, one per business's reviews. Each page of results is landed and its
progress advanced in one transaction, so a stop at any point (daily quota, call budget,
crash) loses nothing and a later run for D resumes at the next page. A quota stop ends the
run successfully with what it has and records a `warn` completeness check naming what is
left; normalization is idempotent, so the resumed run completes the OLTP model and the
totals equal one uninterrupted run.
"""

from __future__ import annotations

import logging

import orjson
from datetime import date

from include.quality import CheckResult, RunContext

log = logging.getLogger(__name__)

SEARCH_COLS = ("logical_date", "county_fips", "business_id", "search_offset", "alias", "name",
               "is_closed", "url", "phone", "review_count", "rating", "price", "latitude",
               "longitude", "address1", "address2", "address3", "city", "zip_code", "country",
               "state", "categories", "transactions")
# The day's search rows of businesses whose reviews are fetched: only then is a business's
# final id known (a 301 moves it), so a quota stop never normalizes a business under an id
# it is about to lose. The rest waits, landed, for the resumed run.
READY = ("(select r.* from raw.yelp_search r join yelp.progress q on q.logical_date = "
         "r.logical_date and q.item_type = 'reviews' and q.item_key = r.business_id "
         "and q.status = 'done')")
REVIEW_COLS = ("logical_date", "business_id", "review_id", "user_id", "user_name",
               "user_profile_url", "user_image_url", "rating", "text", "time_created")


def seed_searches(conn, day: date) -> int:
    """One search item per county of the OLTP model, location "<County>, <ST>" built from
    the normalized county and its state's postal code (never a bare county name)."""
    return conn.execute(
        "insert into yelp.progress (logical_date, item_type, item_key, location) "
        "select %s, 'search', c.county_fips, c.county_name || ', ' || s.state_code "
        "from oltp.county c join oltp.census_state cs using (state_fips) "
        "join oltp.state s on lower(s.state_name) = lower(cs.state_name) "
        "on conflict do nothing", (day,)).rowcount


def seed_reviews(conn, day: date) -> int:
    return conn.execute(
        "insert into yelp.progress (logical_date, item_type, item_key) "
        "select distinct %(d)s::date, 'reviews', business_id from raw.yelp_search "
        "where logical_date = %(d)s on conflict do nothing", {"d": day}).rowcount


def _pending(conn, day: date, item_type: str) -> list[tuple]:
    return conn.execute(
        "select item_key, location, next_offset from yelp.progress where logical_date = %s "
        "and item_type = %s and status = 'pending' order by item_key",
        (day, item_type)).fetchall()


def _ensure_staging(conn) -> None:
    conn.execute("create temp table if not exists yelp_search_in "
                 "(like raw.yelp_search including defaults) on commit delete rows")
    conn.execute("create temp table if not exists yelp_review_in "
                 "(like raw.yelp_review including defaults) on commit delete rows")


def search_rows(day: date, county_fips: str, offset: int, businesses) -> list[tuple]:
    return [(day, county_fips, b.business_id, offset + i, b.alias, b.name, b.is_closed, b.url,
             b.phone or None, b.review_count, b.rating, b.price, b.latitude, b.longitude,
             b.address1, b.address2, b.address3, b.city, b.zip_code, b.country, b.state,
             orjson.dumps([list(c) for c in b.categories]).decode(),
             orjson.dumps(list(b.transactions)).decode())
            for i, b in enumerate(businesses)]


_COPY_SEARCH = f"copy raw.yelp_search ({', '.join(SEARCH_COLS)}) from stdin"
_PAGE_PREP = (
    "with cfg as (select set_config('synchronous_commit', 'off', true)), "
    "gone as (delete from raw.yelp_search where logical_date = %(d)s and "
    "  county_fips = %(c)s and business_id = any(%(ids)s) returning 1), "
    "moved as (update yelp.progress set next_offset = %(next)s, updated_at = now() "
    "  where logical_date = %(d)s and item_type = 'search' and item_key = %(c)s "
    "  returning 1) "
    "select (select count(*) from cfg), (select count(*) from gone), "
    "(select count(*) from moved)")


def land_search_page(conn, day: date, county_fips: str, page) -> int:
    """Land one page in one transaction: one statement deletes the page's keys (a resumed
    or repeated page replaces its rows) and advances the county's progress, then COPY puts
    the rows straight into raw.yelp_search. The page and its progress commit together, so a
    commit lost in a crash loses both and the page is fetched again: the commit need not
    wait for the WAL flush (synchronous_commit off for this transaction only). Measured
    against alternatives in docs/benchmarks.md."""
    rows = search_rows(day, county_fips, page.offset, page.businesses)
    with conn.transaction():
        conn.execute(_PAGE_PREP, {"d": day, "c": county_fips, "ids": [r[2] for r in rows],
                                  "next": page.offset + len(page.businesses)})
        with conn.cursor().copy(_COPY_SEARCH) as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows)


def land_reviews(conn, day: date, asked_id: str, final_id: str, reviews) -> int:
    cols = ", ".join(REVIEW_COLS)
    with conn.transaction():
        _ensure_staging(conn)
        with conn.cursor().copy(f"copy yelp_review_in ({cols}) from stdin") as copy:
            for r in reviews:
                copy.write_row((day, final_id, r.review_id, r.user_id, r.user_name,
                                r.user_profile_url, r.user_image_url, r.rating, r.text,
                                r.time_created))
        conn.execute(f"insert into raw.yelp_review ({cols}) select {cols} from yelp_review_in "
                     "on conflict (logical_date, business_id, review_id) do update set "
                     "user_id = excluded.user_id, user_name = excluded.user_name, "
                     "user_profile_url = excluded.user_profile_url, "
                     "user_image_url = excluded.user_image_url, rating = excluded.rating, "
                     "text = excluded.text, time_created = excluded.time_created, "
                     "loaded_at = now()")
        if final_id != asked_id:
            conn.execute("insert into raw.yelp_business_move (old_business_id, new_business_id, "
                         "seen_on) values (%s, %s, %s) on conflict (old_business_id) do update "
                         "set new_business_id = excluded.new_business_id, "
                         "seen_on = excluded.seen_on", (asked_id, final_id, day))
        conn.execute("update yelp.progress set status = 'done', detail = %s, updated_at = now() "
                     "where logical_date = %s and item_type = 'reviews' and item_key = %s",
                     (None if final_id == asked_id else f"moved to {final_id}", day, asked_id))
    return len(reviews)


def fetch(conn, day: date, client) -> dict:
    """Work the day's queue until it is empty or the quota/budget stops it."""
    from include.sources.yelp import YelpQuotaExhausted

    seed_searches(conn, day)
    landed = {"businesses": 0, "reviews": 0}
    stopped = None
    try:
        for county_fips, location, next_offset in _pending(conn, day, "search"):
            for page in client.search_all(location, start_offset=next_offset):
                landed["businesses"] += land_search_page(conn, day, county_fips, page)
            conn.execute("update yelp.progress set status = 'done', updated_at = now() "
                         "where logical_date = %s and item_type = 'search' and item_key = %s",
                         (day, county_fips))
        seed_reviews(conn, day)
        for business_id, _, _ in _pending(conn, day, "reviews"):
            final_id, reviews = client.reviews(business_id)
            landed["reviews"] += land_reviews(conn, day, business_id, final_id, reviews)
    except YelpQuotaExhausted as exc:
        stopped = str(exc)
        log.warning("Yelp quota/budget reached after %s calls: stopping with what the run "
                    "has; the next run for %s resumes", client.calls, day)
    pending = dict(conn.execute(
        "select item_type, count(*) from yelp.progress where logical_date = %s and "
        "status = 'pending' group by 1", (day,)).fetchall())
    return {"landed": landed, "calls": client.calls, "stopped": stopped, "pending": pending,
            "rate_limit": dict(getattr(client, "rate_limit", {}) or {})}


def completeness_check(day: date, outcome: dict) -> CheckResult:
    left = sum(outcome["pending"].values())
    return CheckResult(
        "yelp_day_complete", "completeness", "yelp.progress", "pass" if left == 0 else "warn",
        left, 0, {"pending": outcome["pending"], "stopped": outcome["stopped"],
                  "calls": outcome["calls"], "day": day.isoformat()})


def normalize_yelp(conn, day: date) -> dict[str, int]:
    """Upsert D's landed rows into the OLTP model (natural keys; unchanged rows untouched).
    A business found by several county searches is one business, placed in the
    lowest-FIPS county that found it (Yelp has no county field). Moved ids (301) resolve to
    the new id."""
    from include.postgres_load import _upsert

    p = {"d": day}
    businesses = (
        "with found as (select distinct on (coalesce(m.new_business_id, s.business_id)) "
        "  coalesce(m.new_business_id, s.business_id) as business_id, s.county_fips, "
        "  s.alias, s.name, s.is_closed, s.url, s.phone, s.review_count, s.rating, s.price, "
        "  s.latitude, s.longitude, s.address1, s.address2, s.address3, s.city, s.zip_code "
        "  from " + READY + " s left join raw.yelp_business_move m "
        "    on m.old_business_id = s.business_id "
        "  where s.logical_date = %(d)s "
        "  order by coalesce(m.new_business_id, s.business_id), s.county_fips), "
        "placed as (select f.*, st.state_code from found f "
        "  join oltp.county c on c.county_fips = f.county_fips "
        "  join oltp.census_state cs on cs.state_fips = c.state_fips "
        "  join oltp.state st on lower(st.state_name) = lower(cs.state_name)) ")
    changed = {}
    with conn.transaction():
        changed["oltp.city"] = _upsert(
            conn, "city", ("state_code", "city_name"), ("state_code", "city_name", "county_fips"),
            businesses + "select distinct on (state_code, city) state_code, city, county_fips "
            "from placed where city is not null order by state_code, city, county_fips", p)
        # changed_on = D only when a described value changes (it is not compared itself),
        # so SCD2 versions start on the business day of the change, not the load's clock.
        described = ("alias", "business_name", "address1", "address2", "address3", "zip_code",
                     "phone", "url", "price_level", "latitude", "longitude", "state_code",
                     "city_name", "county_fips")
        changed["oltp.business"] = conn.execute(
            "insert into oltp.business (business_id, " + ", ".join(described) + ", changed_on) "
            + businesses + "select business_id, alias, name, address1, address2, address3, "
            "zip_code, nullif(phone, ''), url, length(price), latitude, longitude, state_code, "
            "city, county_fips, %(d)s::date from placed "
            "on conflict (business_id) do update set "
            + ", ".join(f"{c} = excluded.{c}" for c in described)
            + ", changed_on = excluded.changed_on, updated_at = now() where ("
            + ", ".join(f"business.{c}" for c in described) + ") is distinct from ("
            + ", ".join(f"excluded.{c}" for c in described) + ")", p).rowcount
        changed["oltp.category"] = _upsert(
            conn, "category", ("category_alias",), ("category_alias", "title"),
            f"select distinct on (c->>0) c->>0, c->>1 from {READY} s, "
            "jsonb_array_elements(s.categories) c where s.logical_date = %(d)s "
            "order by c->>0, c->>1", p)
        changed["oltp.transaction_type"] = conn.execute(
            "insert into oltp.transaction_type (transaction_type) select distinct t "
            f"from {READY} s, jsonb_array_elements_text(s.transactions) t "
            "where s.logical_date = %(d)s on conflict do nothing", p).rowcount
        for bridge, col, source in (
                ("business_category", "category_alias",
                 "select distinct coalesce(m.new_business_id, s.business_id), c->>0 "
                 f"from {READY} s left join raw.yelp_business_move m "
                 "on m.old_business_id = s.business_id, jsonb_array_elements(s.categories) c "
                 "where s.logical_date = %(d)s"),
                ("business_transaction", "transaction_type",
                 "select distinct coalesce(m.new_business_id, s.business_id), t "
                 f"from {READY} s left join raw.yelp_business_move m "
                 "on m.old_business_id = s.business_id, "
                 "jsonb_array_elements_text(s.transactions) t where s.logical_date = %(d)s")):
            n = _upsert(conn, bridge, ("business_id", col), ("business_id", col, "is_current"),
                        f"select b, x, true from ({source}) d(b, x)", p)
            # Links of businesses seen on D that D no longer lists: no longer current.
            n += conn.execute(
                f"update oltp.{bridge} o set is_current = false, updated_at = now() "
                f"where o.is_current and o.business_id in (select coalesce("
                f"m.new_business_id, s.business_id) from {READY} s left join "
                f"raw.yelp_business_move m on m.old_business_id = s.business_id "
                f"where s.logical_date = %(d)s) "
                f"and (o.business_id, o.{col}) not in (select b, x from ({source}) d(b, x))",
                p).rowcount
            changed[f"oltp.{bridge}"] = n
        changed["oltp.yelp_user"] = _upsert(
            conn, "yelp_user", ("user_id",), ("user_id", "user_name", "profile_url", "image_url"),
            "select distinct on (user_id) user_id, user_name, user_profile_url, user_image_url "
            "from raw.yelp_review where logical_date = %(d)s order by user_id, time_created desc",
            p)
        changed["oltp.review"] = _upsert(
            conn, "review", ("review_id",),
            ("review_id", "business_id", "user_id", "rating", "text_excerpt", "created_at"),
            "select distinct on (r.review_id) r.review_id, r.business_id, r.user_id, r.rating, "
            "left(r.text, 160), r.time_created from raw.yelp_review r "
            "join oltp.business b on b.business_id = r.business_id "
            "where r.logical_date = %(d)s order by r.review_id", p)
        changed["oltp.business_holding"] = _upsert(
            conn, "business_holding", ("business_id", "holding_date"),
            ("business_id", "holding_date", "rating", "review_count", "is_closed"),
            businesses + "select business_id, %(d)s::date, rating, review_count, is_closed "
            "from placed", p)
    return changed


def yelp_batch(day: date, ctx: RunContext, conn_id: str = "source_db", client=None,
               max_calls: int | None = None) -> dict:
    """Fetch (resumable), check, normalize D. Returns what it did; raises DataQualityError
    on a blocking check failure (after recording it)."""
    from include.connections import pg_connect, yelp_client
    from include.gx_suites import validate_batch
    from include.quality import raise_on_failures, record_checks

    client = client or yelp_client(max_calls=max_calls)
    with pg_connect(conn_id, autocommit=True) as conn:
        outcome = fetch(conn, day, client)
        results = validate_batch("yelp_search", day, conn_id) + \
            validate_batch("yelp_review", day, conn_id) + [completeness_check(day, outcome)]
        record_checks(conn, ctx, results)
        raise_on_failures(results)
        outcome["changed"] = normalize_yelp(conn, day)
    return outcome
