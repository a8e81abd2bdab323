"""The US Census Data API: county population by year, landed raw, checked, normalized.

Entry point: `ingest_day(day, ctx)`, called by the `census_population` DAG. See README.md.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from include.quality import RunContext

if TYPE_CHECKING:
    from include.landing import LandedBatch


def ingest_day(day: date, ctx: RunContext, conn_id: str = "source_db") -> LandedBatch:
    """Extract the counties' population and the state list as of day D, land them as D's
    batch, check, normalize. Raises DataQualityError (after recording the checks) when a
    blocking check fails."""
    from include.connections import pg_connect
    from include.landing import LandedBatch, land_batch, record_landed_day
    from include.quality import raise_on_failures, record_checks
    from include.quality.gx import validate_suite
    from include.sources.census import client as census_client
    from include.sources.census.checks import SUITE
    from include.sources.census.normalize import RAW_COUNTY_POPULATION, RAW_STATE, normalize_census

    client = census_client.from_connection()
    counties = client.county_population()
    states = client.states()
    # Autocommit: each step commits its own transaction, so a failed check keeps the
    # landed raw batch and its check results for inspection.
    with pg_connect(conn_id, autocommit=True) as conn:
        batch = land_batch(
            conn,
            "census",
            day,
            [
                (RAW_STATE, [(s.state_fips, s.state_name) for s in states]),
                (
                    RAW_COUNTY_POPULATION,
                    [
                        (
                            c.county_name,
                            c.state_name,
                            c.state_fips,
                            c.county_fips,
                            c.date_code,
                            c.population_year,
                            c.population,
                        )
                        for c in counties
                    ],
                ),
            ],
        )
        results = validate_suite(SUITE, batch, conn_id)
        record_checks(conn, ctx, results)
        raise_on_failures(results)
        changed = normalize_census(conn, batch)
        record_landed_day(conn, "census", day)
    return LandedBatch(batch_id=batch, raw_rows=len(counties) + len(states), changed=changed)
