"""Yelp Fusion for day D: county searches and business reviews, quota-aware and resumable,
landed in raw.*, checked, normalized into the OLTP business model.

Entry point: `ingest_day(day, ctx)`, called by the `yelp_businesses` DAG. See README.md.
A quota or budget stop ends the run successfully with what it has and records a `warn`
completeness check naming what is left; normalization is idempotent, so the resumed run
completes the OLTP model and the totals equal one uninterrupted run. A malformed record is
quarantined (the run fails only when too many are), a county or business Yelp cannot find
is skipped with a `warn`; every `warn` reaches Slack once per day. Normalizing an older day
(a rerun or backfill) adds its history and leaves the newer current state alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from include.quality import RunContext

if TYPE_CHECKING:
    from include.sources.yelp.land import YelpFetch


@dataclass(frozen=True)
class YelpDay:
    """What one run fetched, landed and changed."""

    fetched: YelpFetch
    changed: dict[str, int]  # rows inserted or changed per OLTP table


def ingest_day(
    day: date,
    ctx: RunContext,
    conn_id: str = "source_db",
    client=None,
    max_calls: int | None = None,
) -> YelpDay:
    """Fetch (resumable), check, normalize D. Raises DataQualityError on a blocking check
    failure (after recording it). `max_calls` defaults to YELP_DAILY_CALL_BUDGET."""
    from include.connections import pg_connect
    from include.landing import record_landed_day
    from include.quality import raise_on_failures, record_checks
    from include.quality.gx import validate_suite
    from include.sources.yelp import client as yelp_client
    from include.sources.yelp.checks import (
        REVIEW_SUITE,
        SEARCH_SUITE,
        alert_warnings,
        completeness_check,
        day_checks,
    )
    from include.sources.yelp.land import fetch
    from include.sources.yelp.normalize import normalize_yelp
    from include.sources.yelp.settings import daily_call_budget

    if client is None:
        client = yelp_client.from_connection(
            max_calls=max_calls if max_calls is not None else daily_call_budget()
        )
    with pg_connect(conn_id, autocommit=True) as conn:
        fetched = fetch(conn, day, client)
        results = (
            validate_suite(SEARCH_SUITE, day, conn_id)
            + validate_suite(REVIEW_SUITE, day, conn_id)
            + [completeness_check(day, fetched)]
            + day_checks(conn, day)
        )
        record_checks(conn, ctx, results)
        alert_warnings(conn, ctx, day, results, conn_id)
        raise_on_failures(results)
        changed = normalize_yelp(conn, day)
        record_landed_day(conn, "yelp", day)
    return YelpDay(fetched=fetched, changed=changed)
