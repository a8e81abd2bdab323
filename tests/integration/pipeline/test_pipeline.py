"""The land → check → normalize path on the real local services, end to end."""

import uuid
from datetime import date

import pytest
import requests

from include.connections import get_connection, pg_connect
from tests.helpers import failures, run_day

pytestmark = pytest.mark.integration
DAY = date(2024, 3, 1)


def _sources(payload):
    host = get_connection("census_api").host
    requests.post(f"{host}/_control", json=payload, timeout=5).raise_for_status()


def _sink():
    conn = get_connection("slack_alerts")
    return f"{conn.schema}://{conn.host.split('/')[0]}"


@pytest.fixture(autouse=True)
def _clean():
    _sources({})
    requests.delete(f"{_sink()}/_messages", timeout=5)
    requests.post(f"{_sink()}/_control", json={"mode": "ok"}, timeout=5)
    yield
    _sources({})
    requests.post(f"{_sink()}/_control", json={"mode": "ok"}, timeout=5)


def _messages():
    return [
        m["payload"]["text"]
        for m in requests.get(f"{_sink()}/_messages", timeout=5).json()["messages"]
    ]


def _snapshot(conn):
    return {
        t: conn.execute(
            f"select md5(string_agg(x::text, ',' order by x::text)), count(*) from {t} x"
        ).fetchone()
        for t in ("oltp.state", "oltp.census_state", "oltp.county", "oltp.county_population")
    }


def test_run_builds_oltp_matching_the_source_and_a_rerun_changes_nothing():
    run_id = f"test-{uuid.uuid4()}"
    outcome = run_day(DAY, run_id=run_id)
    assert not failures(outcome), failures(outcome)

    # Expected values computed from the source server's own wire data, not project code.
    conn_info = get_connection("census_api")
    raw = requests.get(
        f"{conn_info.host}/data/2019/pep/population",
        params={
            "get": "NAME,POP,DATE_CODE",
            "for": "county:*",
            "in": "state:*",
            "key": conn_info.password,
        },
        timeout=30,
    ).json()[1:]
    expected_2019 = {r[3] + r[4]: int(r[1]) for r in raw if r[2] == "12"}
    expected_estimates = [r for r in raw if 3 <= int(r[2]) <= 12]

    with pg_connect("source_db") as conn:
        got_2019 = dict(
            conn.execute(
                "select county_fips, population from oltp.county_population "
                "where population_year = 2019"
            ).fetchall()
        )
        assert got_2019 == expected_2019
        assert conn.execute("select count(*) from oltp.county_population").fetchone()[0] == len(
            expected_estimates
        )
        assert conn.execute(
            "select count(*), count(*) filter (where is_state) from oltp.state"
        ).fetchone() == (56, 51)
        assert (
            conn.execute(
                "select county_name from oltp.county where county_fips = '35001'"
            ).fetchone()[0]
            == "Doña Ana County"
        )
        statuses = dict(
            conn.execute(
                "select check_name, status from quality.check_results "
                "where run_id = %s and check_name not like 'dbt:%%'",
                (run_id,),
            ).fetchall()
        )
        assert statuses["state_code_unique"] == "pass"
        assert statuses["population_not_null_current_year"] == "pass"
        from include.lake import TABLES

        geography = [
            k
            for k in statuses
            if not k.startswith(("reconcile_", "yelp_", "amplitude_", "source_landed_"))
        ]
        assert len(geography) == 9  # the GX expectations of the states and census suites
        # every source completed the day
        landed = {k: v for k, v in statuses.items() if k.startswith("source_landed_")}
        assert landed == {
            f"source_landed_{s}": "pass" for s in ("states_page", "census", "yelp", "amplitude")
        }
        # per lake table: current rows and the day's rows; plus two population sums; plus,
        # per day table (Amplitude), the raw day against staging
        day_tables = sum(1 for t in TABLES if t.day_column)
        assert day_tables == 2
        assert sum(k.startswith("reconcile_") for k in statuses) == 2 * len(TABLES) + 2 + day_tables
        assert set(statuses.values()) == {"pass"}
        before = _snapshot(conn)
        raw_before = conn.execute("select count(*) from raw.census_county_population").fetchone()

    second = run_day(DAY, run_id=f"test-{uuid.uuid4()}")
    assert second["census_population"].changed == {
        "oltp.census_state": 0,
        "oltp.county": 0,
        "oltp.county_population": 0,
    }
    with pg_connect("source_db") as conn:
        assert _snapshot(conn) == before  # updated_at included: nothing was touched
        assert (
            conn.execute("select count(*) from raw.census_county_population").fetchone()
            == raw_before
        )  # the rerun replaced its batch
    assert _messages() == []


def test_duplicated_state_code_fails_the_check_blocks_normalize_and_alerts():
    run_day(DAY, run_id=f"test-{uuid.uuid4()}")  # a good state first
    _sources({"states": "duplicate"})
    run_id = f"test-{uuid.uuid4()}"
    outcome = run_day(DAY, run_id=run_id)
    assert "DataQualityError" in type(outcome["states_page"]).__name__
    with pg_connect("source_db") as conn:
        row = conn.execute(
            "select status, observed, details->'duplicates' from "
            "quality.check_results where run_id = %s and check_name = "
            "'state_code_unique'",
            (run_id,),
        ).fetchone()
        # The source server's "duplicate" fault gives Alaska's row the code AL: two rows
        # carry a non-unique code (GX counts unexpected rows), and the duplicate is AL.
        assert row == ("fail", "2", ["AL"])
        # The bad batch never reached the OLTP model: Alaska keeps its code.
        assert conn.execute(
            "select state_code from oltp.state where state_name = 'Alaska'"
        ).fetchone() == ("AK",)
    texts = _messages()
    assert any(
        "state_code_unique" in t and "states_page" in t and "2024-03-01" in t for t in texts
    ), texts
    assert any("Task `check` of DAG `states_page`" in t for t in texts), texts


def test_source_500s_fail_the_run_and_alert_slack(monkeypatch):
    import include.connections.http as http

    fast = http.retrying_session
    monkeypatch.setattr(http, "retrying_session", lambda **kw: fast(total=1, backoff=0))
    _sources({"census": "500"})
    outcome = run_day(DAY, run_id=f"test-{uuid.uuid4()}")
    assert isinstance(outcome["census_population"], Exception)
    assert "HTTP 500" in str(outcome["census_population"])
    texts = _messages()
    assert any("census_population" in t and "HTTP 500" in t for t in texts), texts
    assert get_connection("census_api").password not in " ".join(texts)


def test_slack_outage_keeps_the_alert_pending_and_delivers_it_later():
    from include.quality.alerts import deliver_pending, send_alert

    requests.post(f"{_sink()}/_control", json={"mode": "500", "times": 100}, timeout=5)
    marker = f"outage-{uuid.uuid4()}"
    assert send_alert("test", {"text": marker}) is False
    with pg_connect("source_db") as conn:
        status, error = conn.execute(
            "select status, last_error from quality.alert_outbox where payload->>'text' = %s",
            (marker,),
        ).fetchone()
        assert status == "pending"
        assert get_connection("slack_alerts").password not in (error or "")
        requests.post(f"{_sink()}/_control", json={"mode": "ok"}, timeout=5)
        assert deliver_pending(conn) >= 1
        assert conn.execute(
            "select status from quality.alert_outbox where payload->>'text' = %s", (marker,)
        ).fetchone() == ("sent",)
    assert marker in _messages()


def test_slack_429_honours_retry_after_and_delivers():
    from include.quality.alerts import send_alert

    requests.post(f"{_sink()}/_control", json={"mode": "429", "times": 1}, timeout=5)
    marker = f"ratelimited-{uuid.uuid4()}"
    assert send_alert("test", {"text": marker}) is True
    assert marker in _messages()
