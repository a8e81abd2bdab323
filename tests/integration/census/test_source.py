"""The Census client against the local Census server, read through the connections
that `make env` exports (make test starts the services)."""

import pytest
import requests

from include.connections import get_connection
from include.sources.census import client as census_client
from include.sources.census.parser import CensusError
from tests.helpers import control

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _no_faults(reset_faults):
    """Every test here starts and ends with the source server fault-free."""


def test_census_county_population_matches_the_raw_wire_rows():
    client = census_client.from_connection()
    parsed = client.county_population()
    # An independent read of the same endpoint, with no project code.
    conn = get_connection("census_api")
    raw = requests.get(
        f"{conn.host}/data/2019/pep/population",
        params={
            "get": "NAME,POP,DATE_CODE",
            "for": "county:*",
            "in": "state:*",
            "key": conn.password,
        },
        timeout=30,
    ).json()
    assert len(parsed) == len(raw) - 1
    total_2019 = sum(int(r[1]) for r in raw[1:] if r[2] == "12" and r[1] is not None)
    assert sum(p.population for p in parsed if p.population_year == 2019) == total_2019
    assert any(p.population is None for p in parsed)
    assert "Doña Ana County" in {p.county_name for p in parsed}
    assert {len(p.county_fips) for p in parsed} == {5}


def test_census_states():
    states = census_client.from_connection().states()
    assert len(states) == 52  # 50 states, DC and Puerto Rico
    assert len({s.state_fips for s in states}) == 52


def test_census_bad_key_html_200_is_a_clear_error():
    from include.sources.census.client import CensusClient

    client = CensusClient(base_url=get_connection("census_api").host, api_key="wrong")
    with pytest.raises(CensusError, match="HTML page with status 200"):
        client.county_population()


def test_census_500_is_retried_then_surfaces():
    from include.connections.http import retrying_session
    from include.sources.census.client import CensusClient

    control({"census": "500"})
    conn = get_connection("census_api")
    client = CensusClient(conn.host, conn.password, session=retrying_session(total=2, backoff=0))
    with pytest.raises(CensusError, match="HTTP 500"):
        client.county_population()
    state = requests.get(f"{conn.host}/_control", timeout=5).json()
    assert state["requests"]["census"] == 3  # one call and two retries
