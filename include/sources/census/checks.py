"""The Great Expectations suite on a landed Census batch (raw.census_county_population)."""

from include.quality.gx import Check, Suite, gxe

SUITE = Suite(
    name="census_county_population",
    target="raw.census_county_population",
    query=(
        "select *, left(county_fips, 2) as county_state_prefix "
        "from raw.census_county_population where batch_id = '{batch_id}'"
    ),
    checks=(
        Check(
            "census_rows_present",
            "completeness",
            lambda: gxe().ExpectTableRowCountToBeBetween(min_value=1),
        ),
        Check(
            "county_fips_format",
            "validity",
            lambda: gxe().ExpectColumnValuesToMatchRegex(column="county_fips", regex="^[0-9]{5}$"),
        ),
        Check(
            "county_fips_in_its_state",
            "consistency",
            lambda: gxe().ExpectColumnPairValuesToBeEqual(
                column_A="county_state_prefix", column_B="state_fips"
            ),
        ),
        Check(
            "population_non_negative",
            "validity",
            lambda: gxe().ExpectColumnValuesToBeBetween(column="population", min_value=0),
        ),
        # {batch} is GX's placeholder for the batch's query in UnexpectedRowsExpectation.
        Check(
            "population_not_null_current_year",
            "completeness",
            lambda: gxe().UnexpectedRowsExpectation(
                description="population is reported for the latest year of the batch",
                unexpected_rows_query=(
                    "select * from {batch} where population is null and population_year = "
                    "(select max(population_year) from {batch})"
                ),
            ),
        ),
    ),
)
