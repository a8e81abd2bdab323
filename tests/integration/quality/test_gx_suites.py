"""The Great Expectations suites on raw batches, run in PostgreSQL on batches landed here
with known defects: each expectation must fail exactly on the rows planted for it."""

from datetime import date

import pytest

from include.connections import pg_connect
from include.landing import land_batch
from include.sources.census.checks import SUITE as CENSUS_SUITE
from include.sources.census.normalize import RAW_COUNTY_POPULATION
from include.sources.states_page.checks import SUITE as STATES_SUITE
from include.sources.states_page.normalize import RAW_TABLE as RAW_STATES

pytestmark = pytest.mark.integration
DAY = date(1999, 1, 1)  # a date no other test lands


@pytest.fixture
def conn():
    with pg_connect("source_db", autocommit=True) as c:
        yield c
        c.execute("delete from raw.batches where logical_date = %s", (DAY,))


def _by_name(results):
    return {r.check_name: r for r in results}


def _states(n_states=51, extra=()):
    rows = [(f"State {i}", f"{chr(65 + i // 26)}{chr(65 + i % 26)}", True) for i in range(n_states)]
    rows += [("Guam", "GU", False), ("Puerto Rico", "PR", False)]
    return rows + list(extra)


def test_states_suite_passes_on_51_states_with_territories(conn):
    from include.quality.gx import validate_suite

    batch = land_batch(conn, "gx_test_states", DAY, [(RAW_STATES, _states())])
    results = _by_name(validate_suite(STATES_SUITE, batch))
    assert {r.status for r in results.values()} == {"pass"}, results
    assert results["states_count_is_50_plus_dc"].observed == 51


def test_states_suite_fails_on_count_duplicates_nulls_and_bad_codes(conn):
    from include.quality.gx import validate_suite

    rows = _states(
        n_states=49, extra=[("Twin", "AA", True), ("Nameless", None, True), ("Lower", "ny", True)]
    )
    batch = land_batch(conn, "gx_test_states", DAY, [(RAW_STATES, rows)])
    results = _by_name(validate_suite(STATES_SUITE, batch))
    assert results["states_count_is_50_plus_dc"].status == "fail"
    assert results["states_count_is_50_plus_dc"].observed == 52  # 49 + 3 planted states
    assert results["state_code_unique"].status == "fail"
    assert results["state_code_unique"].details["duplicates"] == ["AA"]
    assert results["state_code_not_null"].status == "fail"
    assert results["state_code_not_null"].observed == 1
    assert results["state_code_two_letters"].status == "fail"
    assert results["state_code_two_letters"].details["unexpected_sample"] == ["ny"]


def _county(fips, state="01", year=2019, pop=100, code=12):
    return (f"County {fips}", "Alabama", state, fips, code, year, pop)


def test_census_suite_fails_each_expectation_on_its_planted_row(conn):
    from include.quality.gx import validate_suite

    rows = [
        _county("01001"),
        _county("01003", year=2018, pop=None, code=11),  # old null: ok
        _county("1005", state="01"),  # 4-digit FIPS: format
        _county("02007", state="01"),  # FIPS of another state
        _county("01009", pop=-5),  # negative population
        _county("01011", pop=None),
    ]  # null in the latest year
    batch = land_batch(conn, "gx_test_census", DAY, [(RAW_COUNTY_POPULATION, rows)])
    results = _by_name(validate_suite(CENSUS_SUITE, batch))
    assert results["census_rows_present"].status == "pass"
    assert results["census_rows_present"].observed == 6
    expected_failures = {
        "county_fips_format": 1,
        "county_fips_in_its_state": 2,
        "population_non_negative": 1,
        "population_not_null_current_year": 1,
    }
    for name, count in expected_failures.items():
        assert (results[name].status, results[name].observed) == ("fail", count), results[name]
    # "1005" has prefix "10" (not "01") and "02007" has prefix "02": both are inconsistent.


def test_census_suite_passes_when_only_older_years_are_null(conn):
    from include.quality.gx import validate_suite

    rows = [_county("01001"), _county("01003", year=2018, pop=None, code=11)]
    batch = land_batch(conn, "gx_test_census", DAY, [(RAW_COUNTY_POPULATION, rows)])
    results = _by_name(validate_suite(CENSUS_SUITE, batch))
    assert {r.status for r in results.values()} == {"pass"}, results
