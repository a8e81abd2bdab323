"""A burst of 30 task failures while Slack is unreachable, then Slack answering 429s with a
Retry-After and a 503 outage before it recovers, drained by four concurrent drains: every
alert reaches Slack exactly once, and the one payload Slack refuses is named once in one
dead-letter summary.

The single cases (one 429, one 5xx, concurrent drains on a healthy sink, a crashed claim)
are in tests/integration/quality/test_alert_delivery.py; this is the burst on top of them.
What Slack received is read from the sink's record; the outbox with plain SQL. "Time
passes" between drain rounds is written as SQL on `next_attempt_at` (the backoffs are
30 s and more); the Retry-After waits are real.
"""

import json
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from include.connections import pg_connect
from tests.helpers import quiet_outbox, slack_control, slack_record, slack_reset, slack_texts

pytestmark = pytest.mark.integration
BURST = 30
DRAINS = 4
ROUNDS = 12  # drain rounds at most: the burst must be delivered well within them


@pytest.fixture(autouse=True)
def _clean():
    quiet_outbox()
    slack_reset()
    yield
    slack_reset()
    quiet_outbox()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _outbox(ids: list[int]) -> dict[int, tuple]:
    with pg_connect("source_db") as conn:
        return {
            r[0]: r[1:]
            for r in conn.execute(
                "select id, status, kind, last_http_status, attempts from quality.alert_outbox "
                "where id = any(%s)",
                (ids,),
            )
        }


def _open_rows() -> int:
    with pg_connect("source_db") as conn:
        return conn.execute(
            "select count(*) from quality.alert_outbox where status in ('pending', 'sending')"
        ).fetchone()[0]


def _time_passes() -> None:
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(
            "update quality.alert_outbox set next_attempt_at = now() where status = 'pending'"
        )


def test_a_burst_of_failures_through_429s_and_an_outage_is_delivered_once_by_concurrent_drains(
    monkeypatch,
):
    from include.quality import alerts

    day = date(2033, 5, 1)
    runs = [f"test-burst-{uuid.uuid4()}-{i:02d}" for i in range(BURST)]
    slack = os.environ["AIRFLOW_CONN_SLACK_ALERTS"]
    down = {**json.loads(slack), "host": f"127.0.0.1:{_closed_port()}/services"}
    with pg_connect("source_db") as conn:
        first_id = conn.execute("select coalesce(max(id), 0) from quality.alert_outbox").fetchone()[
            0
        ]

    # The burst: 30 failure callbacks at once, and one payload Slack will refuse, while the
    # webhook is unreachable. Each callback stores its alert and tries once.
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps(down))

    def fail(i: int) -> None:
        alerts.alert_failure(
            "burst_dag", f"task_{i:02d}", runs[i], day, f"RuntimeError: failure {i} of the burst"
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(fail, range(BURST)))
    poisoned_run = f"test-burst-poison-{uuid.uuid4()}"
    assert alerts.send_alert("task_failure", {"text": ""}, "burst_dag", poisoned_run) is False
    with pg_connect("source_db") as conn:
        rows = conn.execute(
            "select id, run_id, status from quality.alert_outbox where id > %s order by id",
            (first_id,),
        ).fetchall()
    ids = {run: alert_id for alert_id, run, _ in rows}
    assert sorted(map(str, ids)) == sorted(runs + [poisoned_run]), rows  # nothing else
    assert {status for _, _, status in rows} == {"pending"}, rows

    # Slack answers again: six 429s (Retry-After 1 s), then eight 503s, then ok.
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", slack)
    assert slack_record()["calls"] == 0  # nothing reached the sink during the burst
    slack_control("429", times=6, retry_after=1, then=[{"mode": "503", "times": 8}, {"mode": "ok"}])
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            alerts.drain()
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    rounds = 0
    while _open_rows() and rounds < ROUNDS:
        rounds += 1
        _time_passes()
        threads = [threading.Thread(target=drain) for _ in range(DRAINS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert not any(t.is_alive() for t in threads), "a drain did not end"
    assert not errors, errors
    assert _open_rows() == 0, f"still undelivered after {rounds} rounds of {DRAINS} drains"
    record = slack_record()
    assert record["rejected"] == 14, record["rejected"]  # the 429s and the 503s were met

    # Exactly once: each failure's alert is in Slack's record once.
    texts = slack_texts()
    counts = {run: sum(run in t for t in texts) for run in runs}
    assert {run: n for run, n in counts.items() if n != 1} == {}, counts
    state = _outbox(list(ids.values()))
    assert {state[ids[r]][0] for r in runs} == {"sent"}, state

    # The poisoned row is a dead letter (Slack's 400), named in one summary, once.
    assert state[ids[poisoned_run]][:3] == ("dead", "task_failure", 400), state[ids[poisoned_run]]
    summaries = [t for t in texts if "dead-lettered" in t]
    assert len(summaries) == 1, summaries
    assert f"#{ids[poisoned_run]} " in summaries[0] and "1 Slack alert(s)" in summaries[0]
    with pg_connect("source_db") as conn:
        kinds = conn.execute(
            "select kind, status, count(*) from quality.alert_outbox where id > %s "
            "group by 1, 2 order by 1, 2",
            (first_id,),
        ).fetchall()
    assert kinds == [
        ("dead_letters", "sent", 1),
        ("task_failure", "dead", 1),
        ("task_failure", "sent", BURST),
    ], kinds
