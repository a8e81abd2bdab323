"""The US Census Data API: county population by year, landed raw, checked, normalized.

Stages, one task each in the `census_population` DAG (task `<stage>` calls `run_<stage>`;
a worker shares nothing with the next one but PostgreSQL and the lake):

* `run_extract(day)`: the two API calls (county population, the state list), each response
  archived as received in the lake (`include.landing.archive`); returns their keys. The
  only stage that calls the API (pool `census_api`).
* `run_land(day, keys)`: the archived responses parsed and landed as D's raw batch.
* `run_check(day, ctx, batch_id)`: the raw-batch suite, recorded; DataQualityError on a
  blocking failure (the batch stays, un-normalized).
* `run_normalize(day, batch_id)`: upsert oltp.census_state, county, county_population from
  the checked batch, mark D landed.

`ingest_day(day, ctx)` runs them in order in one process. See README.md.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from include.quality import RunContext

if TYPE_CHECKING:
    from include.landing import LandedBatch, LandedRaw

SOURCE = "census"
QUERIES = ("county_population", "states")  # client.QUERIES; archived as <query>.json


def run_extract(day: date) -> dict[str, str]:
    """Call the API for D's counties and states and archive both answers; returns
    {query: archive key}. A bad answer (HTML for a bad key, HTTP 4xx/5xx) fails here."""
    from include.landing import archive
    from include.sources.census import client as census_client

    client = census_client.from_connection()
    keys = {}
    for query in QUERIES:
        status, content_type, body = client.response(query)
        keys[query] = archive.put(SOURCE, day, f"{query}.json", body, content_type, status)
    return keys


def run_land(
    day: date, keys: dict[str, str] | None = None, conn_id: str = "source_db"
) -> LandedRaw:
    """Parse the archived responses (`keys`, default D's) and land them as D's batch
    (replacing an earlier batch of D)."""
    from include.connections import pg_connect
    from include.landing import LandedRaw, archive, land_batch
    from include.sources.census.normalize import RAW_COUNTY_POPULATION, RAW_STATE
    from include.sources.census.parser import (
        check_response,
        parse_county_population,
        parse_states,
    )

    keys = keys or {q: archive.key_for(SOURCE, day, f"{q}.json") for q in QUERIES}
    answers = {q: archive.get(keys[q]) for q in QUERIES}
    rows = {q: check_response(a.status, a.content_type, a.body) for q, a in answers.items()}
    counties = parse_county_population(rows["county_population"])
    states = parse_states(rows["states"])
    with pg_connect(conn_id, autocommit=True) as conn:
        batch = land_batch(
            conn,
            SOURCE,
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
    return LandedRaw(
        batch_id=batch,
        raw_rows=len(counties) + len(states),
        archive_keys=tuple(keys[q] for q in QUERIES),
    )


def run_check(day: date, ctx: RunContext, batch_id, conn_id: str = "source_db") -> dict:
    """Validate D's batch, record the results under `ctx`; DataQualityError when a
    blocking check failed. Returns the batch that passed (what `run_normalize` is handed:
    never a batch landed after the check) and {status: count}."""
    from include.connections import pg_connect
    from include.landing import require_current_batch
    from include.quality import raise_on_failures, record_checks
    from include.quality.gx import validate_suite
    from include.runs import status_counts
    from include.sources.census.checks import SUITE

    # Autocommit: the recorded results stay when a blocking check then fails the task.
    with pg_connect(conn_id, autocommit=True) as conn:
        batch = require_current_batch(conn, SOURCE, day, batch_id)
        results = validate_suite(SUITE, batch, conn_id)
        record_checks(conn, ctx, results)
    raise_on_failures(results)
    return {"batch_id": str(batch), "checks": status_counts(results)}


def run_normalize(day: date, batch_id, conn_id: str = "source_db") -> LandedBatch:
    """Upsert the OLTP geography and population from D's checked batch, mark D landed."""
    from include.connections import pg_connect
    from include.landing import LandedBatch, batch_rows, record_landed_day, require_current_batch
    from include.sources.census.normalize import normalize_census

    with pg_connect(conn_id, autocommit=True) as conn:
        batch = require_current_batch(conn, SOURCE, day, batch_id)
        changed = normalize_census(conn, batch)
        record_landed_day(conn, SOURCE, day)
        return LandedBatch(batch_id=batch, raw_rows=batch_rows(conn, batch), changed=changed)


def ingest_day(day: date, ctx: RunContext, conn_id: str = "source_db") -> LandedBatch:
    """Every stage for day D in one process, as the DAG runs them. Raises DataQualityError
    (after recording the checks) when a blocking check fails."""
    landed = run_land(day, run_extract(day), conn_id)
    checked = run_check(day, ctx, landed.batch_id, conn_id)
    return run_normalize(day, checked["batch_id"], conn_id)
