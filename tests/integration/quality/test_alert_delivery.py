"""Alerts always arrive: the outbox delivery contract against the local Slack sink.

What Slack received is read from the sink (its record of accepted messages and its count
of calls); the outbox state is read with plain SQL. "Time passes" is written as SQL on
`next_attempt_at` / `claimed_at`, the way the clock would move them.
"""

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest

from include.connections import pg_connect
from tests.helpers import slack_control, slack_record, slack_reset, slack_texts

pytestmark = pytest.mark.integration


def _quiet_outbox():
    """Earlier tests' undelivered rows are not this test's business: mark them handled."""
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(
            "update quality.alert_outbox set status = 'sent' where status in ('pending', 'sending')"
        )
        has_notified = conn.execute(
            "select 1 from information_schema.columns where table_schema = 'quality' "
            "and table_name = 'alert_outbox' and column_name = 'dead_notified_at'"
        ).fetchone()
        if has_notified:
            conn.execute(
                "update quality.alert_outbox set dead_notified_at = now() "
                "where status = 'dead' and dead_notified_at is null"
            )


@pytest.fixture(autouse=True)
def _clean():
    _quiet_outbox()
    slack_reset()
    yield
    slack_reset()
    _quiet_outbox()


def _marker(what: str) -> str:
    return f"{what}-{uuid.uuid4()}"


def _row(alert_id: int) -> dict:
    """The outbox row as JSON (whatever columns the schema has), with `due_in`: seconds
    until its next attempt."""
    with pg_connect("source_db") as conn:
        row, due_in = conn.execute(
            "select to_jsonb(o) - 'payload', extract(epoch from "
            "(to_jsonb(o)->>'next_attempt_at')::timestamptz - now()) "
            "from quality.alert_outbox as o where id = %s",
            (alert_id,),
        ).fetchone()
    return {**row, "due_in": due_in}


def _id_of(text: str) -> int:
    with pg_connect("source_db") as conn:
        return conn.execute(
            "select max(id) from quality.alert_outbox where payload->>'text' = %s", (text,)
        ).fetchone()[0]


def _time_passes():
    """Every backoff is over."""
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(
            "update quality.alert_outbox set next_attempt_at = now() where status = 'pending'"
        )


def _insert(texts: list[str]) -> list[int]:
    """Rows as a producer writes them: pending, due now."""
    with pg_connect("source_db", autocommit=True) as conn:
        return [
            conn.execute(
                "insert into quality.alert_outbox (kind, payload) values ('test', %s::jsonb) "
                "returning id",
                (f'{{"text": "{t}"}}',),
            ).fetchone()[0]
            for t in texts
        ]


def _summaries() -> list[str]:
    return [t for t in slack_texts() if "dead-lettered" in t]


@pytest.fixture
def sleeps(monkeypatch):
    """Every time.sleep of the delivery (slack_sdk's or ours), recorded, not slept."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


def test_a_payload_slack_rejects_goes_dead_at_once_and_later_alerts_still_arrive():
    from include.quality import alerts
    from include.quality.alerts import send_alert

    assert send_alert("test", {"text": ""}) is False  # Slack: 400 invalid_payload
    bad = _id_of("")
    marker = _marker("behind-a-400")
    assert send_alert("test", {"text": marker}) is True, (
        "an alert behind a payload Slack rejected was not delivered",
        _row(bad),
    )
    assert slack_texts().count(marker) == 1
    row = _row(bad)
    assert (row["status"], row["attempts"], row.get("last_http_status")) == ("dead", 1, 400), row
    # One summary names the dead letter; later passes do not repeat it.
    summaries = _summaries()
    assert len(summaries) == 1 and f"#{bad} " in summaries[0], summaries
    alerts.drain()
    assert send_alert("test", {"text": _marker("later")}) is True
    alerts.drain()
    assert len(_summaries()) == 1, _summaries()


@pytest.mark.parametrize("status", ["403", "404", "410"])
def test_webhook_rejections_are_permanent_for_the_payload(status):
    from include.quality.alerts import send_alert

    slack_control(status, times=1)
    first = _marker(f"rejected-{status}")
    assert send_alert("test", {"text": first}) is False
    row = _row(_id_of(first))
    assert (row["status"], row.get("last_http_status")) == ("dead", int(status)), row
    second = _marker("after")
    assert send_alert("test", {"text": second}) is True
    assert first not in slack_texts() and second in slack_texts()


def test_a_429_waits_its_retry_after_capped_at_30_seconds_then_delivers(sleeps):
    from include.quality.alerts import send_alert

    slack_control("429", times=1, retry_after=3600)
    marker = _marker("ratelimited")
    assert send_alert("test", {"text": marker}) is True
    assert slack_texts().count(marker) == 1
    assert slack_record()["calls"] == 2
    assert sleeps and max(sleeps) <= 30, sleeps  # not the 3600 s Slack asked for
    assert 30 in sleeps, sleeps


def test_a_lasting_429_leaves_the_alert_pending_for_the_capped_retry_after(sleeps):
    from include.quality import alerts
    from include.quality.alerts import send_alert

    slack_control("429", times=1000, retry_after=3600)
    marker = _marker("still-ratelimited")
    assert send_alert("test", {"text": marker}) is False
    assert max(sleeps) <= 30, sleeps
    assert slack_record()["calls"] == 3  # the post and two waited-out 429s
    row = _row(_id_of(marker))
    assert row["status"] == "pending" and 20 < (row["due_in"] or 0) <= 31, row
    alerts.drain()  # not due yet: Slack is not called
    assert slack_record()["calls"] == 3


@pytest.mark.parametrize("status", ["500", "503"])
def test_5xx_keeps_the_alert_pending_with_backoff_and_a_later_drain_delivers(status):
    from include.quality import alerts
    from include.quality.alerts import send_alert

    slack_control(status, times=1000)
    marker = _marker(f"outage-{status}")
    assert send_alert("test", {"text": marker}) is False
    alert_id = _id_of(marker)
    row = _row(alert_id)
    assert (row["status"], row["attempts"], row.get("last_http_status")) == (
        "pending",
        1,
        int(status),
    ), row
    assert (row["due_in"] or 0) > 20, row  # backoff: not retried at once
    calls = slack_record()["calls"]
    alerts.drain()
    assert slack_record()["calls"] == calls  # the drain did not hammer Slack
    slack_control("ok")
    _time_passes()
    assert alerts.drain().sent >= 1
    assert slack_texts().count(marker) == 1
    assert _row(alert_id)["status"] == "sent"


def test_a_connection_error_keeps_the_alert_pending_and_a_later_drain_delivers(monkeypatch):
    import json
    import os
    import socket

    from include.quality import alerts
    from include.quality.alerts import send_alert

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    good = os.environ["AIRFLOW_CONN_SLACK_ALERTS"]
    down = {**json.loads(good), "host": f"127.0.0.1:{closed}/services"}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps(down))
    marker = _marker("refused")
    assert send_alert("test", {"text": marker}) is False
    alert_id = _id_of(marker)
    row = _row(alert_id)
    assert row["status"] == "pending" and (row["due_in"] or 0) > 20, row
    assert "refused" in (row["last_error"] or "").lower(), row
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", good)
    _time_passes()
    alerts.drain()
    assert slack_texts().count(marker) == 1


def test_an_alert_out_of_attempts_is_dead_and_named_once(monkeypatch):
    from include.quality import alerts
    from include.quality.alerts import send_alert

    monkeypatch.setenv("ELT_ALERT_MAX_ATTEMPTS", "3")
    slack_control("500", times=1000)
    marker = _marker("never")
    send_alert("test", {"text": marker})  # attempt 1
    alert_id = _id_of(marker)
    for _ in range(2):  # attempts 2 and 3
        _time_passes()
        alerts.drain()
    row = _row(alert_id)
    assert (row["status"], row["attempts"]) == ("dead", 3), row
    assert "3 attempts" in row["last_error"], row
    slack_control("ok")
    _time_passes()
    alerts.drain()
    summaries = _summaries()
    assert len(summaries) == 1 and f"#{alert_id} " in summaries[0], summaries
    calls = slack_record()["calls"]
    _time_passes()
    alerts.drain()
    assert len(_summaries()) == 1 and slack_record()["calls"] == calls
    assert marker not in " ".join(slack_texts())


@pytest.mark.parametrize("entry", ["deliver_pending", "drain"])
def test_concurrent_drains_post_each_alert_once(entry):
    from include.quality import alerts

    markers = [_marker(f"concurrent-{i}") for i in range(40)]
    ids = _insert(markers)
    slack_control("ok", delay=0.02)  # each post takes a while: the drains overlap
    errors = []

    def run():
        try:
            if entry == "drain":
                alerts.drain()
            else:
                with pg_connect("source_db") as conn:
                    alerts.deliver_pending(conn, limit=100)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    texts = slack_texts()
    posted_twice = {m: texts.count(m) for m in markers if texts.count(m) != 1}
    assert posted_twice == {}, f"{len(posted_twice)} alerts not posted exactly once"
    with pg_connect("source_db") as conn:
        assert conn.execute(
            "select count(*) from quality.alert_outbox where id = any(%s) and status = 'sent'",
            (ids,),
        ).fetchone() == (40,)


def test_a_crashed_drains_claim_expires_and_the_alert_is_posted_then():
    from include.quality import alerts

    marker = _marker("crashed")
    (alert_id,) = _insert([marker])
    with pg_connect("source_db", autocommit=True) as conn:
        # What a drain that died between its claim and Slack's answer leaves behind.
        conn.execute(
            "update quality.alert_outbox set status = 'sending', claimed_at = now(), "
            "claimed_by = 'crashed-drain', attempts = 1 where id = %s",
            (alert_id,),
        )
    alerts.drain()
    assert slack_record()["calls"] == 0  # its lease holds: nobody else posts it
    assert _row(alert_id)["status"] == "sending"
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(
            "update quality.alert_outbox set claimed_at = now() - interval '1 hour' where id = %s",
            (alert_id,),
        )
    alerts.drain()
    assert slack_texts().count(marker) == 1
    row = _row(alert_id)
    assert (row["status"], row["attempts"]) == ("sent", 2), row


def test_the_alerts_drain_dag_delivers_what_an_outage_left_pending():
    """As `make run` runs it (DagBag + dag.test); it has no upstream DAG, so a failed
    source DAG never skips it."""
    from airflow.dag_processing.dagbag import DagBag

    from include.quality.alerts import send_alert
    from local.run import DAGS_DIR, dag_order

    slack_control("500", times=1000)
    marker = _marker("outage-then-make-run")
    assert send_alert("test", {"text": marker}) is False
    slack_control("ok")
    _time_passes()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    dag = bag.get_dag("alerts_drain")
    assert dag is not None, sorted(bag.dag_ids)
    _order, upstream = dag_order(bag.dags)
    assert upstream["alerts_drain"] == set()
    dr = dag.test(logical_date=datetime.now(UTC).replace(microsecond=0))
    assert str(dr.state) == "success"
    assert slack_texts().count(marker) == 1
