"""Yelp Fusion for day D: county searches and business reviews, quota-aware and resumable,
landed in raw.*, checked, normalized into the OLTP business model.

Stages, one task each in the `yelp_businesses` DAG (task `<stage>` calls `run_<stage>`;
a worker shares nothing with the next one but PostgreSQL):

* `run_extract_land(day)`: works D's queue in `yelp.progress`; each page is landed in the
  transaction that advances its item, so fetching and landing are one stage (pool
  `yelp_api`), logging its progress as it goes. The only stage that calls Yelp.
* `run_check(day, ctx, fetched)`: the GX suites on D's landed rows, the queue's completeness
  (read from `yelp.progress`), the quarantine share and the not-found items, recorded;
  `warn`s reach Slack once per day; DataQualityError on a blocking failure.
* `run_normalize(day)`: the OLTP business model from D's landed rows, mark D landed.

`ingest_day(day, ctx)` runs them in order in one process. See README.md.
A quota or budget stop ends the run successfully with what it has and records a `warn`
completeness check naming what is left; normalization is idempotent, so the resumed run
completes the OLTP model and the totals equal one uninterrupted run. A malformed record is
quarantined (the run fails only when too many are), a county or business Yelp cannot find
is skipped with a `warn`; every `warn` reaches Slack once per day. Normalizing an older day
(a rerun or backfill) adds its history and leaves the newer current state alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from include.quality import RunContext

if TYPE_CHECKING:
    from include.sources.yelp.land import YelpFetch

log = logging.getLogger(__name__)
SOURCE = "yelp"


@dataclass(frozen=True)
class YelpDay:
    """What one run fetched, landed and changed."""

    fetched: YelpFetch
    changed: dict[str, int]  # rows inserted or changed per OLTP table


def run_extract_land(
    day: date, conn_id: str = "source_db", client=None, max_calls: int | None = None
) -> YelpFetch:
    """Work D's queue (resuming where an earlier run stopped) until it is empty or the
    quota/budget stops it. `max_calls` defaults to YELP_DAILY_CALL_BUDGET."""
    from include.connections import pg_connect
    from include.runs.progress import ProgressLog
    from include.sources.yelp import client as yelp_client
    from include.sources.yelp.land import fetch
    from include.sources.yelp.settings import daily_call_budget

    if client is None:
        client = yelp_client.from_connection(
            max_calls=max_calls if max_calls is not None else daily_call_budget()
        )
    progress = ProgressLog(
        log,
        "Yelp {day}: {phase} {done}/{total} done; this run: {pages} pages landed "
        "({rows} rows), {calls} calls",
    )
    with pg_connect(conn_id, autocommit=True) as conn:
        return fetch(conn, day, client, progress=progress)


def _as_fetch(fetched) -> YelpFetch:
    """The extract's outcome, from XCom (a dict) or as returned; empty when unknown."""
    from include.sources.yelp.land import YelpFetch

    if fetched is None:
        return YelpFetch()
    if isinstance(fetched, dict):
        return YelpFetch(**fetched)
    return fetched


def run_check(day: date, ctx: RunContext, fetched=None, conn_id: str = "source_db") -> dict:
    """Check D's landed rows and queue, record the results under `ctx`, send the `warn`s
    to Slack once per day; DataQualityError when a blocking check failed. `fetched` (the
    extract's outcome) adds why it stopped and its calls; what is left of the queue is read
    from `yelp.progress`. Returns {status: count}."""
    from include.connections import pg_connect
    from include.quality import raise_on_failures, record_checks
    from include.quality.gx import validate_suite
    from include.runs import status_counts
    from include.sources.yelp.checks import (
        REVIEW_SUITE,
        SEARCH_SUITE,
        alert_warnings,
        completeness_check,
        day_checks,
    )
    from include.sources.yelp.land import pending_items

    fetched = _as_fetch(fetched)
    with pg_connect(conn_id, autocommit=True) as conn:
        fetched.pending = pending_items(conn, day)
        results = (
            validate_suite(SEARCH_SUITE, day, conn_id)
            + validate_suite(REVIEW_SUITE, day, conn_id)
            + [completeness_check(day, fetched)]
            + day_checks(conn, day)
        )
        record_checks(conn, ctx, results)
        alert_warnings(conn, ctx, day, results, conn_id)
    raise_on_failures(results)
    return status_counts(results)


def run_normalize(day: date, conn_id: str = "source_db") -> dict[str, int]:
    """The OLTP business model from D's landed rows (idempotent), mark D landed. Returns
    the rows inserted or changed per OLTP table."""
    from include.connections import pg_connect
    from include.landing import record_landed_day
    from include.sources.yelp.normalize import normalize_yelp

    with pg_connect(conn_id, autocommit=True) as conn:
        changed = normalize_yelp(conn, day)
        record_landed_day(conn, SOURCE, day)
    return changed


def ingest_day(
    day: date,
    ctx: RunContext,
    conn_id: str = "source_db",
    client=None,
    max_calls: int | None = None,
) -> YelpDay:
    """Every stage for day D in one process, as the DAG runs them. Raises DataQualityError
    on a blocking check failure (after recording it)."""
    fetched = run_extract_land(day, conn_id, client=client, max_calls=max_calls)
    run_check(day, ctx, fetched, conn_id)
    return YelpDay(fetched=fetched, changed=run_normalize(day, conn_id))
