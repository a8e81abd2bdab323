"""Day D's landed Yelp rows -> the OLTP business model (natural keys; unchanged rows
untouched). Only businesses whose final id is known (`yelp.ready_search`) are normalized;
moved ids (301) resolve to the new id.

Days may be normalized out of order (a rerun or a backfill of an older day): the present
(a business's described values, its current bridge links, its city's county, a category's
title, a user, a review) is the latest day's. `seen_on` on oltp.business, city, category,
yelp_user and review is the latest day a row was seen; a day before it adds its history
(its holding, new rows) and changes nothing else of the present, but it dates the present
version: `changed_on` is the first day of the run of loaded days describing the business as
now (sql/business_changed_on.sql), so a backfill ends where the days in calendar order end."""

from __future__ import annotations

from datetime import date

from psycopg import sql

from include.landing import read_sql, upsert

# Bridge table -> its link column; the day's links come from sql/day_<bridge>.sql.
BRIDGES = {"business_category": "category_alias", "business_transaction": "transaction_type"}


def _refresh_bridge(conn, bridge: str, column: str, params: dict) -> int:
    """Upsert D's links as current; links of businesses whose present D describes
    (`yelp_current`) that D no longer lists are no longer current."""
    conn.execute(read_sql(__file__, f"day_{bridge}"), params)
    n = upsert(
        conn,
        bridge,
        ("business_id", column),
        ("business_id", column, "is_current"),
        "select business_id, link, true from yelp_day_link",
        params,
    )
    n += conn.execute(
        sql.SQL(
            "update oltp.{t} as o set is_current = false, updated_at = now() "
            "where o.is_current and o.business_id in (select business_id from yelp_current) "
            "and (o.business_id, o.{c}) not in (select business_id, link from yelp_day_link)"
        ).format(t=sql.Identifier(bridge), c=sql.Identifier(column)),
        params,
    ).rowcount
    conn.execute("drop table yelp_day_link")
    return n


def normalize_yelp(conn, day: date) -> dict[str, int]:
    """Upsert D's ready rows into every table of the business model, in one transaction."""
    p = {"d": day}
    changed = {}
    with conn.transaction():
        conn.execute(read_sql(__file__, "placed_business"), p)
        changed["oltp.city"] = conn.execute(read_sql(__file__, "city"), p).rowcount
        conn.execute(read_sql(__file__, "city_seen"), p)
        changed["oltp.business"] = conn.execute(read_sql(__file__, "business"), p).rowcount
        conn.execute(read_sql(__file__, "business_seen"), p)
        conn.execute(read_sql(__file__, "business_changed_on"), p)
        conn.execute(read_sql(__file__, "current_business"), p)
        changed["oltp.category"] = upsert(
            conn,
            "category",
            ("category_alias",),
            ("seen_on", "category_alias", "title"),
            read_sql(__file__, "category"),
            p,
            seen_on="seen_on",
        )
        changed["oltp.transaction_type"] = conn.execute(
            read_sql(__file__, "transaction_type"), p
        ).rowcount
        for bridge, column in BRIDGES.items():
            changed[f"oltp.{bridge}"] = _refresh_bridge(conn, bridge, column, p)
        changed["oltp.yelp_user"] = upsert(
            conn,
            "yelp_user",
            ("user_id",),
            ("user_id", "user_name", "profile_url", "image_url", "seen_on"),
            read_sql(__file__, "yelp_user"),
            p,
            seen_on="seen_on",
        )
        changed["oltp.review"] = upsert(
            conn,
            "review",
            ("review_id",),
            (
                "review_id",
                "business_id",
                "user_id",
                "rating",
                "created_at",
                "seen_on",
                "text_excerpt",
            ),
            read_sql(__file__, "review"),
            p,
            seen_on="seen_on",
        )
        changed["oltp.business_holding"] = upsert(
            conn,
            "business_holding",
            ("business_id", "holding_date"),
            ("business_id", "holding_date", "rating", "review_count", "is_closed"),
            read_sql(__file__, "business_holding"),
            p,
        )
    return changed
