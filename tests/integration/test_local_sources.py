"""The clients against the real local source servers, read through the connections
that `make env` exports (make test starts the services)."""

import json
import os

import pytest
import requests

from include.connections import census_client, get_connection, states_page_location
from include.sources.census import CensusError
from include.sources.states_page import fetch_states_page, parse_states_page
from tests.helpers import control

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _reset_faults():
    if "AIRFLOW_CONN_CENSUS_API" not in os.environ:
        pytest.fail("run under `make test` (or eval \"$(make -s env)\") so the connections exist")
    control({})
    yield
    control({})


def test_census_county_population_matches_the_raw_wire_rows():
    client = census_client()
    parsed = client.county_population()
    # An independent read of the same endpoint, with no project code.
    conn = get_connection("census_api")
    raw = requests.get(f"{conn.host}/data/2019/pep/population",
                       params={"get": "NAME,POP,DATE_CODE", "for": "county:*", "in": "state:*",
                               "key": conn.password}, timeout=30).json()
    assert len(parsed) == len(raw) - 1
    total_2019 = sum(int(r[1]) for r in raw[1:] if r[2] == "12" and r[1] is not None)
    assert sum(p.population for p in parsed if p.population_year == 2019) == total_2019
    assert any(p.population is None for p in parsed)
    assert "Doña Ana County" in {p.county_name for p in parsed}
    assert {len(p.county_fips) for p in parsed} == {5}


def test_census_states():
    states = census_client().states()
    assert len(states) == 52  # 50 states, DC and Puerto Rico
    assert len({s.state_fips for s in states}) == 52


def test_census_bad_key_html_200_is_a_clear_error():
    from include.sources.census import CensusClient

    client = CensusClient(base_url=get_connection("census_api").host, api_key="wrong")
    with pytest.raises(CensusError, match="HTML page with status 200"):
        client.county_population()


def test_census_500_is_retried_then_surfaces():
    from include.http import retrying_session
    from include.sources.census import CensusClient

    control({"census": "500"})
    conn = get_connection("census_api")
    client = CensusClient(conn.host, conn.password, session=retrying_session(total=2, backoff=0))
    with pytest.raises(CensusError, match="HTTP 500"):
        client.county_population()
    state = requests.get(f"{conn.host}/_control", timeout=5).json()
    assert state["requests"]["census"] == 3  # one call and two retries


def test_states_page_scraped_with_states_and_territories():
    base, path = states_page_location()
    rows = parse_states_page(fetch_states_page(base, path))
    states = [r for r in rows if r.is_state]
    assert len(states) == 51
    assert len({r.state_code for r in states}) == 51
    assert {r.state_code for r in rows if not r.is_state} == {"AS", "GU", "MP", "PR", "VI"}


def test_states_page_duplicate_code_is_visible_to_the_parser():
    control({"states": "duplicate"})
    base, path = states_page_location()
    codes = [r.state_code for r in parse_states_page(fetch_states_page(base, path)) if r.is_state]
    assert len(codes) == 51 and len(set(codes)) == 50


def test_slack_sink_answers_like_slack():
    conn = get_connection("slack_alerts")
    base = f"{conn.schema}://{conn.host.split('/')[0]}"
    url = f"{conn.schema}://{conn.host}/{conn.password}"
    requests.delete(f"{base}/_messages", timeout=5)
    ok = requests.post(url, json={"text": "hello ✓"}, timeout=5)
    assert (ok.status_code, ok.text) == (200, "ok")
    bad = requests.post(url, data=b"not json", timeout=5)
    assert (bad.status_code, bad.text) == (400, "invalid_payload")
    requests.post(f"{base}/_control", json={"mode": "429", "times": 1}, timeout=5)
    limited = requests.post(url, json={"text": "x"}, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    messages = requests.get(f"{base}/_messages", timeout=5).json()["messages"]
    assert [m["payload"]["text"] for m in messages] == ["hello ✓"]
    assert conn.password not in json.dumps(messages)


def test_lake_bucket_exists_on_the_s3_server():
    import boto3

    conn = get_connection("lake_s3")
    extra = conn.extra_dejson
    s3 = boto3.client("s3", endpoint_url=extra["endpoint_url"], aws_access_key_id=conn.login,
                      aws_secret_access_key=conn.password, region_name=extra["region_name"])
    bucket = extra["lake_uri"].removeprefix("s3://").split("/")[0]
    s3.put_object(Bucket=bucket, Key="lake/_probe/x.txt", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="lake/_probe/x.txt")["Body"].read() == b"x"


def test_source_and_warehouse_databases_accept_connections():
    from include.connections import pg_connect

    for conn_id in ("source_db", "warehouse_db"):
        with pg_connect(conn_id) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
