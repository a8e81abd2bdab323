"""The US states page: scrape, land raw, check, normalize into oltp.state.

Stages, one task each in the `states_page` DAG (a worker shares nothing with the next one
but PostgreSQL and the lake):

* `run_extract(day)`: robots.txt, then the page, archived as received in the lake
  (`include.landing.archive`); returns its key. The only stage that calls the site.
* `run_land(day, key)`: the archived page parsed and landed as D's raw batch; returns it.
* `run_check(day, ctx, batch_id)`: the raw-batch suite, recorded; DataQualityError on a
  blocking failure (the batch stays, un-normalized).
* `run_normalize(day, batch_id)`: upsert oltp.state from the checked batch, mark D landed.

`ingest_day(day, ctx)` runs them in order in one process. See README.md.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from include.quality import RunContext

if TYPE_CHECKING:
    from include.landing import LandedBatch, LandedRaw

SOURCE = "states_page"
PAGE = "page.html"


def run_extract(day: date) -> str:
    """Fetch the page as of day D (robots.txt first) and archive it; returns its key."""
    from include.landing import archive
    from include.sources.states_page import client

    base, path = client.from_connection()
    body, content_type = client.fetch_states_page_response(base, path)
    return archive.put(SOURCE, day, PAGE, body, content_type or "")


def run_land(day: date, key: str | None = None, conn_id: str = "source_db") -> LandedRaw:
    """Parse the archived page (`key`, default D's) and land it as D's batch (replacing an
    earlier batch of D)."""
    from include.connections import pg_connect
    from include.landing import LandedRaw, archive, land_batch
    from include.sources.states_page.client import decode_page
    from include.sources.states_page.normalize import RAW_TABLE
    from include.sources.states_page.parser import parse_states_page

    page = archive.get(key or archive.key_for(SOURCE, day, PAGE))
    rows = parse_states_page(decode_page(page.body, page.content_type or None))
    with pg_connect(conn_id, autocommit=True) as conn:
        batch = land_batch(
            conn,
            SOURCE,
            day,
            [(RAW_TABLE, [(r.state_name, r.state_code, r.is_state) for r in rows])],
        )
    return LandedRaw(batch_id=batch, raw_rows=len(rows), archive_keys=(page.key,))


def run_check(day: date, ctx: RunContext, batch_id, conn_id: str = "source_db") -> dict:
    """Validate D's batch (50 states + DC, unique codes), record the results under `ctx`;
    DataQualityError when a blocking check failed. Returns the batch that passed (what
    `run_normalize` is handed: never a batch landed after the check) and {status: count}."""
    from include.connections import pg_connect
    from include.landing import require_current_batch
    from include.quality import raise_on_failures, record_checks
    from include.quality.gx import validate_suite
    from include.runs import status_counts
    from include.sources.states_page.checks import SUITE

    # Autocommit: the recorded results stay when a blocking check then fails the task.
    with pg_connect(conn_id, autocommit=True) as conn:
        batch = require_current_batch(conn, SOURCE, day, batch_id)
        results = validate_suite(SUITE, batch, conn_id)
        record_checks(conn, ctx, results)
    raise_on_failures(results)
    return {"batch_id": str(batch), "checks": status_counts(results)}


def run_normalize(day: date, batch_id, conn_id: str = "source_db") -> LandedBatch:
    """Upsert oltp.state from D's checked batch (unchanged rows untouched), mark D landed."""
    from include.connections import pg_connect
    from include.landing import LandedBatch, batch_rows, record_landed_day, require_current_batch
    from include.sources.states_page.normalize import normalize_states

    with pg_connect(conn_id, autocommit=True) as conn:
        batch = require_current_batch(conn, SOURCE, day, batch_id)
        changed = normalize_states(conn, batch)
        record_landed_day(conn, SOURCE, day)
        return LandedBatch(batch_id=batch, raw_rows=batch_rows(conn, batch), changed=changed)


def ingest_day(day: date, ctx: RunContext, conn_id: str = "source_db") -> LandedBatch:
    """Every stage for day D in one process, as the DAG runs them. Raises DataQualityError
    (after recording the checks) when a blocking check fails."""
    landed = run_land(day, run_extract(day), conn_id)
    checked = run_check(day, ctx, landed.batch_id, conn_id)
    return run_normalize(day, checked["batch_id"], conn_id)
