"""The US states page: scrape, land raw, check, normalize into oltp.state.

Entry point: `ingest_day(day, ctx)`, called by the `states_page` DAG. See README.md.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from include.quality import RunContext

if TYPE_CHECKING:
    from include.landing import LandedBatch


def ingest_day(day: date, ctx: RunContext, conn_id: str = "source_db") -> LandedBatch:
    """Scrape the page as of day D, land it as D's batch, check it, normalize it. Raises
    DataQualityError (after recording the checks) when a blocking check fails."""
    from include.connections import pg_connect
    from include.landing import LandedBatch, land_batch, record_landed_day
    from include.quality import raise_on_failures, record_checks
    from include.quality.gx import validate_suite
    from include.sources.states_page import client
    from include.sources.states_page.checks import SUITE
    from include.sources.states_page.normalize import RAW_TABLE, normalize_states
    from include.sources.states_page.parser import parse_states_page

    base, path = client.from_connection()
    rows = parse_states_page(client.fetch_states_page(base, path))
    # Autocommit: each step commits its own transaction, so a failed check keeps the
    # landed raw batch and its check results for inspection.
    with pg_connect(conn_id, autocommit=True) as conn:
        batch = land_batch(
            conn,
            "states_page",
            day,
            [(RAW_TABLE, [(r.state_name, r.state_code, r.is_state) for r in rows])],
        )
        results = validate_suite(SUITE, batch, conn_id)
        record_checks(conn, ctx, results)
        raise_on_failures(results)
        changed = normalize_states(conn, batch)
        record_landed_day(conn, "states_page", day)
    return LandedBatch(batch_id=batch, raw_rows=len(rows), changed=changed)
