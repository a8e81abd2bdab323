"""Census in the lake: the OLTP states, counties and county population, exported
incrementally (updated_at). The population sum is reconciled against the warehouse."""

from include.lake.table import LakeTable

TABLES = (
    LakeTable(
        "census_state",
        ("state_fips",),
        (("state_fips", "string"), ("state_name", "string"), ("updated_at", "timestamp")),
    ),
    LakeTable(
        "county",
        ("county_fips",),
        (
            ("county_fips", "string"),
            ("state_fips", "string"),
            ("county_name", "string"),
            ("updated_at", "timestamp"),
        ),
    ),
    LakeTable(
        "county_population",
        ("county_fips", "population_year"),
        (
            ("county_fips", "string"),
            ("population_year", "int16"),
            ("population", "int64"),
            ("updated_at", "timestamp"),
        ),
        checksum_column="population",
    ),
)
