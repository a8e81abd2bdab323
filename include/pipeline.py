"""The extract → land → check → normalize path of each source, as plain functions.

DAG tasks (and `make run`) call these; tests call them directly. Each validates its raw
batch with a Great Expectations suite (include/gx_suites.py), records one row per
expectation in `quality.check_results` and raises DataQualityError on a blocking failure,
before anything reaches the OLTP model.
"""

from __future__ import annotations

from datetime import date

from include.quality import RunContext


def states_page_batch(day: date, ctx: RunContext, conn_id: str = "source_db") -> dict:
    from include.connections import pg_connect, states_page_location
    from include.postgres_load import land_batch, normalize_states
    from include.gx_suites import validate_batch
    from include.quality import raise_on_failures, record_checks
    from include.sources.states_page import fetch_states_page, parse_states_page

    base, path = states_page_location()
    rows = parse_states_page(fetch_states_page(base, path))
    # Autocommit: each step commits its own transaction, so a failed check keeps the
    # landed raw batch and its check results for inspection.
    with pg_connect(conn_id, autocommit=True) as conn:
        batch = land_batch(conn, "states_page", day, {
            "states_page": [(r.state_name, r.state_code, r.is_state) for r in rows]})
        results = validate_batch("states_page", batch, conn_id)
        record_checks(conn, ctx, results)
        raise_on_failures(results)
        changed = normalize_states(conn, batch)
    return {"batch_id": str(batch), "raw_rows": len(rows), "changed": changed}


def census_batch(day: date, ctx: RunContext, conn_id: str = "source_db") -> dict:
    from include.connections import census_client, pg_connect
    from include.postgres_load import land_batch, normalize_census
    from include.gx_suites import validate_batch
    from include.quality import raise_on_failures, record_checks

    client = census_client()
    counties = client.county_population()
    states = client.states()
    # Autocommit: each step commits its own transaction, so a failed check keeps the
    # landed raw batch and its check results for inspection.
    with pg_connect(conn_id, autocommit=True) as conn:
        batch = land_batch(conn, "census", day, {
            "census_state": [(s.state_fips, s.state_name) for s in states],
            "census_county_population": [
                (c.county_name, c.state_name, c.state_fips, c.county_fips, c.date_code,
                 c.population_year, c.population) for c in counties],
        })
        results = validate_batch("census_county_population", batch, conn_id)
        record_checks(conn, ctx, results)
        raise_on_failures(results)
        changed = normalize_census(conn, batch)
    return {"batch_id": str(batch), "raw_rows": len(counties) + len(states), "changed": changed}
