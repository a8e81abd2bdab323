"""`make run` (local/run.py) holds back only what depends on a failed source, as the
scheduler does: the warehouse is scheduled on (states & census) | yelp | amplitude, so a
failed Yelp run leaves the other sources' day to reach the marts, and the warehouse says
which source is behind."""

from datetime import date

import pytest

from include.connections import pg_connect
from tests.helpers import control

pytestmark = pytest.mark.integration
DAY = date(2030, 5, 6)


def test_a_failed_source_holds_back_only_what_depends_on_it(monkeypatch):
    from local.run import run_dags

    monkeypatch.setenv("ELT_TASK_RETRIES", "0")
    control({"yelp": "500"})
    try:
        outcome = run_dags(DAY)
    finally:
        control({})
    states = {d: o["state"] for d, o in outcome.items()}
    assert states["yelp_businesses"] == "failed", outcome
    assert states["amplitude_events"] == states["census_population"] == "success"
    assert states["warehouse"] == "success", outcome["warehouse"]
    with pg_connect("source_db") as conn:
        raw_events = conn.execute(
            "select count(distinct insert_id) from raw.amplitude_event where export_day = %s",
            (DAY,),
        ).fetchone()[0]
        behind = conn.execute(
            "select status, observed, expected from quality.check_results where run_id = %s "
            "and check_name = 'source_landed_yelp'",
            (outcome["warehouse"]["run_id"],),
        ).fetchone()
        landed = conn.execute(
            "select status from quality.check_results where run_id = %s "
            "and check_name = 'source_landed_amplitude'",
            (outcome["warehouse"]["run_id"],),
        ).fetchone()
    with pg_connect("warehouse_db") as conn:
        marts_events = conn.execute(
            "select count(*) from marts.fct_amplitude_event where insert_id in (select "
            "insert_id from staging.amplitude_event where _lake_day = %s)",
            (DAY,),
        ).fetchone()[0]
    assert raw_events > 0 and marts_events == raw_events
    assert behind[0] == "warn" and behind[2] == str(DAY), behind
    assert landed == ("pass",)
