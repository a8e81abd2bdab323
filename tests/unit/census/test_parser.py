from pathlib import Path

import pytest

from include.sources.census.parser import (
    CensusError,
    check_response,
    parse_county_population,
    parse_states,
    population_year,
)

FIXTURES = Path(__file__).parents[2] / "fixtures"


def test_county_rows_are_typed_with_nulls_and_unicode():
    rows = check_response(
        200, "application/json", (FIXTURES / "census_county_pep2019.json").read_bytes()
    )
    parsed = parse_county_population(rows)
    assert len(parsed) == 4
    autauga_2019 = parsed[1]
    assert (autauga_2019.county_fips, autauga_2019.county_name, autauga_2019.state_name) == (
        "01001",
        "Autauga County",
        "Alabama",
    )
    assert (autauga_2019.population_year, autauga_2019.population) == (2019, 55601)
    assert parsed[0].population_year is None  # DATE_CODE 1: the 2010 census, not an estimate
    assert parsed[2].county_name == "Doña Ana County"
    assert parsed[3].population is None and parsed[3].population_year == 2010


@pytest.mark.parametrize("code,year", [(3, 2010), (12, 2019), (1, None), (2, None)])
def test_date_codes(code, year):
    assert population_year(code) == year


def test_date_code_out_of_range_is_an_error():
    with pytest.raises(CensusError, match="outside 1-12"):
        population_year(13)


def test_400_plain_text_error_is_surfaced():
    with pytest.raises(CensusError, match="HTTP 400: error: unknown variable 'FOO'"):
        check_response(400, "text/plain", b"error: unknown variable 'FOO'")


def test_204_means_no_rows():
    assert parse_county_population(check_response(204, "", b"")) == []


def test_html_with_200_is_a_key_error():
    body = (FIXTURES / "census_invalid_key.html").read_bytes()
    with pytest.raises(CensusError, match=r"HTML page with status 200 .Invalid Key.*API key"):
        check_response(200, "text/html;charset=utf-8", body)


def test_truncated_json_is_an_error():
    body = (FIXTURES / "census_county_pep2019.json").read_bytes()[:-30]
    with pytest.raises(CensusError, match="not valid JSON"):
        check_response(200, "application/json", body)


def test_ragged_row_is_an_error():
    with pytest.raises(CensusError, match="row 1 has 2 values"):
        check_response(200, "application/json", b'[["NAME","POP","DATE_CODE"],["x","1"]]')


def test_bad_fips_and_non_integer_pop():
    header = ["NAME", "POP", "DATE_CODE", "state", "county"]
    with pytest.raises(CensusError, match="bad FIPS"):
        parse_county_population([header, ["A, B", "1", "3", "1", "001"]])
    with pytest.raises(CensusError, match="POP 'n/a' is not an integer"):
        parse_county_population([header, ["A, B", "n/a", "3", "01", "001"]])


def test_missing_header_column():
    with pytest.raises(CensusError, match="lacks"):
        parse_county_population([["NAME", "POP"], ["A", "1"]])


def test_states():
    states = parse_states([["NAME", "state"], ["Alabama", "01"], ["Puerto Rico", "72"]])
    assert [(s.state_fips, s.state_name) for s in states] == [
        ("01", "Alabama"),
        ("72", "Puerto Rico"),
    ]
