"""raw.census_* batch -> oltp.census_state, oltp.county, oltp.county_population."""

from __future__ import annotations

import uuid

from include.landing import RawTable, read_sql, upsert

RAW_STATE = RawTable("census_state", ("state_fips", "state_name"))
RAW_COUNTY_POPULATION = RawTable(
    "census_county_population",
    (
        "county_name",
        "state_name",
        "state_fips",
        "county_fips",
        "date_code",
        "population_year",
        "population",
    ),
)


def normalize_census(conn, batch_id: uuid.UUID) -> dict[str, int]:
    """States, counties and county population by year, in one transaction."""
    p = {"b": batch_id}
    with conn.transaction():
        return {
            "oltp.census_state": upsert(
                conn,
                "census_state",
                ("state_fips",),
                ("state_fips", "state_name"),
                read_sql(__file__, "census_state"),
                p,
            ),
            "oltp.county": upsert(
                conn,
                "county",
                ("county_fips",),
                ("county_fips", "state_fips", "county_name"),
                read_sql(__file__, "county"),
                p,
            ),
            "oltp.county_population": upsert(
                conn,
                "county_population",
                ("county_fips", "population_year"),
                ("county_fips", "population_year", "population"),
                read_sql(__file__, "county_population"),
                p,
            ),
        }
