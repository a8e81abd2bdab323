"""Great Expectations suites on raw batches, validated inside PostgreSQL (SQL datasource,
one query asset per batch), each expectation recorded as a row in quality.check_results.

GX costs ~6 s to import: only tasks import this module, never a DAG file.

A suite is a list of `Check`s: the check_name/dimension that quality.check_results keeps
stable across releases, and the GX expectation that decides it. Every raw-batch check is
blocking: a fail or error stops the batch before normalization (DataQualityError after
recording), and the landed batch stays in raw.* for inspection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from include.quality import CheckResult


@dataclass(frozen=True)
class Check:
    name: str
    dimension: str
    expectation: Callable[[], object]  # built lazily: GX is imported only when validating


def _gxe():
    import great_expectations.expectations as gxe

    return gxe


# {batch} is GX's placeholder for the batch's query in UnexpectedRowsExpectation.
STATES_QUERY = ("select *, is_state::int as is_state_int from raw.states_page "
                "where batch_id = '{batch_id}'")
STATES_SUITE = [
    Check("states_count_is_50_plus_dc", "completeness",
          lambda: _gxe().ExpectColumnSumToBeBetween(column="is_state_int", min_value=51,
                                                    max_value=51)),
    Check("state_code_unique", "uniqueness",
          lambda: _gxe().ExpectColumnValuesToBeUnique(column="state_code")),
    Check("state_code_not_null", "completeness",
          lambda: _gxe().ExpectColumnValuesToNotBeNull(column="state_code")),
    Check("state_code_two_letters", "validity",
          lambda: _gxe().ExpectColumnValuesToMatchRegex(column="state_code",
                                                        regex="^[A-Z]{2}$")),
]

CENSUS_QUERY = ("select *, left(county_fips, 2) as county_state_prefix "
                "from raw.census_county_population where batch_id = '{batch_id}'")
CENSUS_SUITE = [
    Check("census_rows_present", "completeness",
          lambda: _gxe().ExpectTableRowCountToBeBetween(min_value=1)),
    Check("county_fips_format", "validity",
          lambda: _gxe().ExpectColumnValuesToMatchRegex(column="county_fips",
                                                        regex="^[0-9]{5}$")),
    Check("county_fips_in_its_state", "consistency",
          lambda: _gxe().ExpectColumnPairValuesToBeEqual(column_A="county_state_prefix",
                                                         column_B="state_fips")),
    Check("population_non_negative", "validity",
          lambda: _gxe().ExpectColumnValuesToBeBetween(column="population", min_value=0)),
    Check("population_not_null_current_year", "completeness",
          lambda: _gxe().UnexpectedRowsExpectation(
              description="population is reported for the latest year of the batch",
              unexpected_rows_query=(
                  "select * from {batch} where population is null and population_year = "
                  "(select max(population_year) from {batch})"))),
]

# Yelp: the "batch" is the logical day's landed rows (pages land as they come, resumably).
YELP_SEARCH_QUERY = ("select *, rating::float8 as rating_value from raw.yelp_search "
                     "where logical_date = '{batch_id}'")
YELP_SEARCH_SUITE = [
    Check("yelp_business_unique_per_county_search", "uniqueness",
          lambda: _gxe().ExpectCompoundColumnsToBeUnique(
              column_list=["county_fips", "business_id"])),
    Check("yelp_business_id_not_null", "completeness",
          lambda: _gxe().ExpectColumnValuesToNotBeNull(column="business_id")),
    Check("yelp_rating_half_steps_1_to_5", "validity",
          lambda: _gxe().ExpectColumnValuesToBeInSet(
              column="rating_value", value_set=[1 + i / 2 for i in range(9)])),
    Check("yelp_price_dollar_signs_or_null", "validity",
          lambda: _gxe().ExpectColumnValuesToBeInSet(column="price",
                                                     value_set=["$", "$$", "$$$", "$$$$"])),
    Check("yelp_latitude_in_range", "validity",
          lambda: _gxe().ExpectColumnValuesToBeBetween(column="latitude", min_value=-90,
                                                       max_value=90)),
    Check("yelp_longitude_in_range", "validity",
          lambda: _gxe().ExpectColumnValuesToBeBetween(column="longitude", min_value=-180,
                                                       max_value=180)),
    Check("yelp_review_count_non_negative", "validity",
          lambda: _gxe().ExpectColumnValuesToBeBetween(column="review_count", min_value=0)),
]
YELP_REVIEW_QUERY = "select * from raw.yelp_review where logical_date = '{batch_id}'"
YELP_REVIEW_SUITE = [
    Check("yelp_review_id_unique", "uniqueness",
          lambda: _gxe().ExpectColumnValuesToBeUnique(column="review_id")),
    Check("yelp_review_rating_1_to_5", "validity",
          lambda: _gxe().ExpectColumnValuesToBeBetween(column="rating", min_value=1,
                                                       max_value=5)),
    Check("yelp_review_user_not_null", "completeness",
          lambda: _gxe().ExpectColumnValuesToNotBeNull(column="user_id")),
]

# Amplitude: the batch is raw export day D (after dedup). The export is by upload time, so
# event_time may fall slightly outside D: AMPLITUDE_EVENT_TIME_LATENCY_HOURS (default 2,
# Amplitude's documented export delay) either side is accepted, for at least
# AMPLITUDE_EVENT_TIME_MOSTLY (default 0.99) of the events, as offline clients upload late.
AMPLITUDE_QUERY = (
    "select event_key, insert_id, event_type, extract(epoch from event_time - "
    "('{batch_id}'::timestamp at time zone 'UTC')) / 3600.0 as hours_from_day_start "
    "from raw.amplitude_event where export_day = '{batch_id}'")


def _latency_hours() -> float:
    return float(os.environ.get("AMPLITUDE_EVENT_TIME_LATENCY_HOURS", "2"))


AMPLITUDE_SUITE = [
    Check("amplitude_event_key_unique", "uniqueness",
          lambda: _gxe().ExpectColumnValuesToBeUnique(column="event_key")),
    Check("amplitude_insert_id_unique", "uniqueness",
          lambda: _gxe().ExpectColumnValuesToBeUnique(column="insert_id")),
    Check("amplitude_event_time_in_exported_day", "timeliness",
          lambda: _gxe().ExpectColumnValuesToBeBetween(
              column="hours_from_day_start", min_value=-_latency_hours(),
              max_value=24 + _latency_hours(),
              mostly=float(os.environ.get("AMPLITUDE_EVENT_TIME_MOSTLY", "0.99")))),
    Check("amplitude_event_type_not_null", "completeness",
          lambda: _gxe().ExpectColumnValuesToNotBeNull(column="event_type")),
]

SUITES = {
    "states_page": ("raw.states_page", STATES_QUERY, STATES_SUITE),
    "census_county_population": ("raw.census_county_population", CENSUS_QUERY, CENSUS_SUITE),
    "yelp_search": ("raw.yelp_search", YELP_SEARCH_QUERY, YELP_SEARCH_SUITE),
    "yelp_review": ("raw.yelp_review", YELP_REVIEW_QUERY, YELP_REVIEW_SUITE),
    "amplitude_event": ("raw.amplitude_event", AMPLITUDE_QUERY, AMPLITUDE_SUITE),
}


def validate_batch(suite_name: str, batch_id, conn_id: str = "source_db") -> list[CheckResult]:
    """Run suite `suite_name` on raw batch `batch_id`; one CheckResult per expectation.
    An expectation GX could not evaluate is an `error` row with the exception message."""
    import great_expectations as gx

    from include.connections import get_connection

    target, query, checks = SUITES[suite_name]
    conn = get_connection(conn_id)
    # The password reaches GX through config substitution from the environment, so the
    # connection string GX keeps (and may print) never contains it.
    os.environ["ELT_GX_DB_PASSWORD"] = conn.password or ""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_postgres(
        name=conn_id, connection_string=(
            f"postgresql+psycopg://{conn.login}:${{ELT_GX_DB_PASSWORD}}@{conn.host}:"
            f"{conn.port or 5432}/{conn.schema}"))
    asset = source.add_query_asset(name=suite_name, query=query.format(batch_id=batch_id))
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for check in checks:
        expectation = check.expectation()
        expectation.meta = {"check_name": check.name}
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(gx.ValidationDefinition(
        name=f"{suite_name}_batch", data=asset.add_batch_definition_whole_table("batch"),
        suite=suite))
    result = validation.run(result_format="SUMMARY")
    # GX does not keep the suite's order in its results: match them by the check name each
    # expectation carries in its meta.
    by_name = {r.expectation_config.meta["check_name"]: r for r in result.results}
    missing = [c.name for c in checks if c.name not in by_name]
    if missing:
        raise RuntimeError(f"GX returned no result for {missing}")
    return [_to_check_result(check, by_name[check.name], target) for check in checks]


def _to_check_result(check: Check, r, target: str) -> CheckResult:
    res = r.result or {}
    exc = r.exception_info or {}
    if exc.get("raised_exception"):
        return CheckResult(check.name, check.dimension, target, "error", None, None,
                           {"expectation": r.expectation_config.type,
                            "error": str(exc.get("exception_message"))[:500]})
    kwargs = {k: v for k, v in r.expectation_config.kwargs.items()
              if k not in ("batch_id", "unexpected_rows_query")}
    if "unexpected_count" in res:
        observed, expected = res["unexpected_count"], 0
    else:
        observed = res.get("observed_value")
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        expected = (kwargs["value"] if "value" in kwargs else lo if lo == hi
                    else f">= {lo}" if hi is None else f"{lo}..{hi}")
    details = {"expectation": r.expectation_config.type, "kwargs": kwargs}
    if res.get("partial_unexpected_list"):
        sample = res["partial_unexpected_list"]
        details["unexpected_sample"] = sorted({str(v) for v in sample})[:20]
        if check.name == "state_code_unique":
            details["duplicates"] = details["unexpected_sample"]
    if "element_count" in res:
        details["rows"] = res["element_count"]
    return CheckResult(check.name, check.dimension, target,
                       "pass" if r.success else "fail", observed, expected, details)
