"""Slack alerts through the `slack_alerts` webhook connection, with a PostgreSQL outbox.

Delivery contract (docs/decisions.md "Alerts always arrive", README "Alerts"):

* An alert is a row of `quality.alert_outbox` before anything is posted. `send_alert`
  stores it and makes one delivery pass at once; the `alerts_drain` DAG makes a pass every
  few minutes, so what an outage left pending arrives without waiting for the next alert.
* A pass claims one due row at a time (`FOR UPDATE SKIP LOCKED`, status `sending` with
  `claimed_at`/`claimed_by`, one short transaction), posts it, then marks it `sent`.
  Concurrent passes never claim the same row. A pass that dies between the post and the
  mark leaves a `sending` row whose lease (`LEASE_SECONDS`) expires; it is then posted
  again: delivery is **at least once**, never silently lost.
* Slack's answer decides: 200 -> `sent`; 400/403/404/410 -> `dead` at once (that payload
  will never be accepted; it does not hold up the rows behind it); 429 -> wait its
  Retry-After (at most `MAX_RETRY_AFTER_SECONDS`) and try again, then pending; 5xx,
  connection errors and timeouts -> `pending` with exponential backoff, and every pending
  row waits too (Slack is down: the backlog is not posted into the outage). After
  `max_attempts()` claims a row is `dead`.
* Dead letters are named once, in one summary alert per pass (`dead_letters`), never one
  per row and never twice for the same rows.
* Order: oldest first within a pass; across failures it is best effort (a row in a longer
  backoff can be overtaken). Every message carries its DAG, run and logical date.

Delivery never raises into a load: an alert must not fail a task.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 30  # a 429's Retry-After is honoured up to this long
RATE_LIMIT_RETRIES = 2  # 429s waited out within one post before the row goes back to pending
PERMANENT_STATUSES = frozenset({400, 403, 404, 410})  # Slack will never accept this payload
POST_TIMEOUT_SECONDS = 10
# A claim must outlive one post: the timeout plus the 429 waits, with room to spare.
LEASE_SECONDS = 120
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 1800
SEND_PASS_LIMIT = 20  # rows one send_alert may post (the new one and the backlog before it)
DRAIN_LIMIT = 500  # rows one scheduled drain may post
DEAD_LETTERS = "dead_letters"  # the kind of the summary alert about dead letters


class AlertDeliveryError(RuntimeError):
    """Slack rejected the dead-letter summary itself: the webhook, not a payload, is broken."""


def max_attempts() -> int:
    """Claims of one alert before it is dead (`ELT_ALERT_MAX_ATTEMPTS`, default 24: with the
    backoff doubling from 30 s to 30 min, about nine hours of outage)."""
    return int(os.environ.get("ELT_ALERT_MAX_ATTEMPTS", "24"))


def _sanitize(message, limit: int = 500) -> str:
    """A text fit to store, log or post: every connection secret and secret-looking token
    redacted (include.connections.secrets), then cut to `limit` (after redacting, so a cut
    never leaves part of a secret)."""
    from include.connections.secrets import load_all, redact

    load_all()
    return redact(message)[:limit]


# Slack reads <!channel>, <!here>, <!everyone>, <@U…>, <!subteam^…> and <url|text> in a
# message's text as mentions and links; Slack's escaping rule turns them into plain text.
_SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def slack_escape(text) -> str:
    """Upstream text (errors, check values, ids) as plain text in a Slack message."""
    return str(text).translate(_SLACK_ESCAPES)


def _upstream(text, limit: int = 500) -> str:
    """Upstream text for a message: redacted, cut, escaped."""
    return slack_escape(_sanitize(text, limit))


def _sql(name: str) -> str:
    from include.landing import read_sql

    return read_sql(__file__, name)


# --- posting --------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What Slack made of one post: sent, permanent (dead), transient (retry later)."""

    outcome: str  # "sent" | "permanent" | "transient"
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, for a 429 still rate-limited


def _webhook_client():
    """slack_sdk's WebhookClient for the `slack_alerts` connection, without its own retry
    handlers (this module decides what is retried, and how long it waits)."""
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    from include.connections import get_connection

    get_connection("slack_alerts")  # registers the webhook token with the redactor
    hook = SlackWebhookHook(
        slack_webhook_conn_id="slack_alerts", timeout=POST_TIMEOUT_SECONDS, retry_handlers=[]
    )
    return hook.client


def _retry_after(headers: dict) -> float:
    """A 429's Retry-After in seconds (1 when absent or unreadable), capped."""
    import email.utils

    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    seconds = 1.0
    if value is not None:
        value = str(value).strip()
        if value.isdigit():
            seconds = float(value)
        else:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                seconds = max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


def _post(client, payload: dict) -> Delivery:
    """One alert to Slack: a 429 is waited out (Retry-After, capped) up to
    RATE_LIMIT_RETRIES times; any other answer is returned as it is."""
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            resp = client.send_dict(payload)
        except Exception as exc:  # noqa: BLE001 - connection refused, reset, timeout...
            return Delivery("transient", None, _sanitize(f"{type(exc).__name__}: {exc}"))
        if resp.status_code == 200:
            return Delivery("sent", 200)
        error = _sanitize(f"Slack HTTP {resp.status_code}: {str(resp.body)[:200]}")
        if resp.status_code in PERMANENT_STATUSES:
            return Delivery("permanent", resp.status_code, error)
        if resp.status_code == 429:
            wait = _retry_after(resp.headers)
            if attempt < RATE_LIMIT_RETRIES:
                log.info("Slack rate-limited the alert; retrying in %.0f s", wait)
                time.sleep(wait)
                continue
            return Delivery("transient", 429, error, retry_after=wait)
        return Delivery("transient", resp.status_code, error)
    raise AssertionError("unreachable")


def _backoff(attempts: int) -> float:
    return float(min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


# --- the outbox -----------------------------------------------------------------------


@dataclass
class DrainResult:
    """What one delivery pass did (the alerts_drain task's XCom)."""

    sent: int = 0
    retrying: int = 0  # left pending, due after their backoff
    dead: int = 0  # dead-lettered in this pass
    dead_letter_summaries: int = 0  # summary alerts created in this pass
    summary_rejected: bool = False  # Slack rejected a dead-letter summary for good


def _claim(conn, worker: str):
    row = conn.execute(
        _sql("outbox_claim"), {"lease_seconds": float(LEASE_SECONDS), "claimed_by": worker}
    ).fetchone()
    conn.commit()
    return row


def _record(conn, worker: str, alert_id: int, kind: str, attempts: int, d: Delivery, result):
    """Store what Slack answered for a claimed row; True when Slack is failing (stop the
    pass: the rest waits rather than being posted into the outage)."""
    keys = {"id": alert_id, "claimed_by": worker, "http_status": d.http_status}
    if d.outcome == "sent":
        if conn.execute(_sql("outbox_sent"), keys).rowcount == 0:
            log.warning(
                "alert %s was claimed again after its lease expired: it may be posted twice",
                alert_id,
            )
        conn.commit()
        result.sent += 1
        return False
    if d.outcome == "permanent" or attempts >= max_attempts():
        reason = (
            d.error if d.outcome == "permanent" else f"gave up after {attempts} attempts: {d.error}"
        )
        conn.execute(
            _sql("outbox_dead"), {**keys, "error": reason, "summary_kind": DEAD_LETTERS}
        ).fetchone()
        if d.outcome != "permanent":
            conn.execute(_sql("outbox_hold_pending"), {"delay_seconds": _backoff(attempts)})
        conn.commit()
        result.dead += 1
        log.error("Slack alert %s (%s) dead-lettered: %s", alert_id, kind, reason)
        if kind == DEAD_LETTERS and d.outcome == "permanent":
            result.summary_rejected = True
        return d.outcome != "permanent"
    delay = d.retry_after if d.retry_after is not None else _backoff(attempts)
    conn.execute(_sql("outbox_retry"), {**keys, "error": d.error, "delay_seconds": delay})
    # Slack is failing: the rest of the backlog waits as long, oldest still first.
    conn.execute(_sql("outbox_hold_pending"), {"delay_seconds": delay})
    conn.commit()
    result.retrying += 1
    log.warning(
        "Slack alert %s not delivered (attempt %s), retried in %.0f s: %s",
        alert_id,
        attempts,
        delay,
        d.error,
    )
    return True


def dead_letter_message(rows: list[tuple]) -> dict:
    """The one summary of dead letters: how many, which, why, and what on-call does."""
    lines = [
        f"• #{alert_id} {slack_escape(kind)}"
        + (f" of `{slack_escape(dag_id)}`" if dag_id else "")
        + (f".`{slack_escape(task_id)}`" if task_id else "")
        + f" after {attempts} attempt(s): {_upstream(error or 'no error recorded', 200)}"
        for alert_id, kind, dag_id, task_id, attempts, _status, error in rows[:10]
    ]
    if len(rows) > 10:
        lines.append(f"• … and {len(rows) - 10} more")
    ids = ", ".join(str(r[0]) for r in rows[:50])
    return {
        "text": (
            f":warning: {len(rows)} Slack alert(s) could not be delivered and were "
            "dead-lettered in `quality.alert_outbox` (status 'dead'):\n"
            + "\n".join(lines)
            + "\nRead them: `select id, kind, dag_id, task_id, last_error, payload->>'text' "
            f"from quality.alert_outbox where id in ({ids})`. Fix the cause, then resend: "
            "`update quality.alert_outbox set status = 'pending', attempts = 0, "
            "next_attempt_at = now(), dead_at = null, dead_notified_at = null "
            f"where id in ({ids})`."
        )
    }


def _summarize_dead(conn) -> bool:
    """One summary alert naming every dead letter not named yet; True if it made one."""
    with conn.transaction():
        rows = conn.execute(_sql("outbox_dead_unnotified")).fetchall()
        if not rows:
            return False
        rows.sort()
        conn.execute(
            _sql("outbox_insert"),
            {
                "dag_id": None,
                "run_id": None,
                "task_id": None,
                "kind": DEAD_LETTERS,
                "payload": json.dumps(dead_letter_message(rows)),
            },
        )
    conn.commit()
    return True


def _deliver(conn, limit: int) -> DrainResult:
    """One delivery pass on `conn`: the due rows oldest first, one claim and one post at a
    time, until none is due, `limit` were posted or Slack fails; then one summary of the
    new dead letters, delivered in the same pass if Slack is answering."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    result = DrainResult()
    conn.commit()  # claims must not sit in a caller's open transaction
    client = None
    resumed = stopped = False
    posted = 0
    while True:
        while posted < limit and not stopped:
            row = _claim(conn, worker)
            if row is None:
                break
            alert_id, kind, payload, attempts = row
            try:
                client = client or _webhook_client()
            except Exception as exc:  # noqa: BLE001 - no usable connection: retry later
                d = Delivery("transient", None, _sanitize(f"{type(exc).__name__}: {exc}"))
            else:
                posted += 1
                d = _post(client, payload)
            stopped = _record(conn, worker, alert_id, kind, attempts, d, result)
            if d.outcome == "sent" and not resumed:
                # Slack answers again: what waited out an earlier failure is due now.
                conn.execute(_sql("outbox_resume_pending"))
                conn.commit()
                resumed = True
        made = _summarize_dead(conn)
        result.dead_letter_summaries += made
        if not made or stopped or posted >= limit:
            return result


def send_alert(
    kind: str, payload: dict, dag_id=None, run_id=None, task_id=None, conn_id: str = "source_db"
) -> bool:
    """Store, then make one delivery pass. Returns True when this alert reached Slack
    (False: it is pending, or dead, in the outbox; the alerts_drain DAG carries on)."""
    from include.connections import pg_connect
    from include.connections.secrets import load_all, redact_obj

    load_all()
    payload = redact_obj(payload)  # the outbox, the logs and Slack never see a secret
    try:
        with pg_connect(conn_id, autocommit=True) as conn:
            alert_id = conn.execute(
                _sql("outbox_insert"),
                {
                    "dag_id": dag_id,
                    "run_id": run_id,
                    "task_id": task_id,
                    "kind": kind,
                    "payload": json.dumps(payload),
                },
            ).fetchone()[0]
            _deliver(conn, SEND_PASS_LIMIT)
            return conn.execute(_sql("outbox_status"), {"id": alert_id}).fetchone()[0] == "sent"
    except Exception as exc:  # noqa: BLE001 - the outbox is down too: try Slack directly
        log.error("alert outbox unavailable (%s); sending directly", _sanitize(str(exc)))
        try:
            d = _post(_webhook_client(), payload)
        except Exception as exc2:  # noqa: BLE001
            d = Delivery("transient", None, _sanitize(f"{type(exc2).__name__}: {exc2}"))
        if d.outcome != "sent":
            log.error("Slack alert lost: outbox and webhook both failed: %s", d.error)
        return d.outcome == "sent"


def deliver_pending(conn, limit: int = 50) -> int:
    """Deliver every pending alert now, oldest first, backoff or not (on-call, after fixing
    Slack); returns how many were delivered."""
    conn.execute(_sql("outbox_resume_pending"))
    conn.commit()
    return _deliver(conn, limit).sent


def drain(conn_id: str = "source_db", limit: int = DRAIN_LIMIT) -> DrainResult:
    """The alerts_drain DAG's pass: every due alert, then the dead-letter summary. Raises
    AlertDeliveryError when Slack rejected the summary itself (the webhook is broken: the
    red task is the signal left)."""
    from include.connections import pg_connect

    with pg_connect(conn_id, autocommit=True) as conn:
        result = _deliver(conn, limit)
    log.info("alert outbox drained: %s", result)
    if result.summary_rejected:
        raise AlertDeliveryError(
            "Slack rejected the dead-letter summary: check the slack_alerts webhook "
            "(revoked token, archived or deleted channel); the alerts are kept as 'dead' "
            "in quality.alert_outbox"
        )
    return result


# --- messages -------------------------------------------------------------------------


def failed_checks_message(
    dag_id: str, run_id: str, logical_date, failed: list[dict], log_url: str | None = None
) -> dict:
    failed = sorted(failed, key=lambda c: c.get("status") != "fail")  # real failures first
    lines = [
        f"• `{_upstream(c['check_name'], 200)}` on `{_upstream(c['target'], 200)}` "
        f"({_upstream(c['dimension'], 50)}): "
        + (
            f"observed {_upstream(c['observed'], 200)}, expected {_upstream(c['expected'], 200)}"
            if c.get("status", "fail") == "fail"
            else "not evaluated (error)"
        )
        for c in failed[:20]
    ]
    if len(failed) > 20:
        lines.append(f"• … and {len(failed) - 20} more in quality.check_results")
    text = (
        f":red_circle: {len(failed)} failed check(s) in DAG `{_upstream(dag_id, 250)}`, "
        f"logical date {_upstream(logical_date, 50)}, run `{_upstream(run_id, 250)}`\n"
        + "\n".join(lines)
    )
    if log_url:
        text += f"\nLog: {log_url}"
    return {"text": text}


def task_failure_message(
    dag_id: str, task_id: str, run_id: str, logical_date, error: str, log_url: str | None = None
) -> dict:
    text = (
        f":rotating_light: Task `{_upstream(task_id, 250)}` of DAG `{_upstream(dag_id, 250)}` "
        f"failed, logical date {_upstream(logical_date, 50)}, run `{_upstream(run_id, 250)}`."
        f"\nError: {_upstream(error)}"
    )
    if log_url:
        text += f"\nLog: {log_url}"
    return {"text": text}


def alert_failure(
    dag_id: str,
    task_id: str,
    run_id: str,
    logical_date,
    error: str,
    log_url: str | None = None,
    conn_id: str = "source_db",
) -> None:
    """The failure alert, plus one message listing the run's failed checks, if any."""
    from include.connections import pg_connect

    send_alert(
        "task_failure",
        task_failure_message(dag_id, task_id, run_id, logical_date, error, log_url),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        conn_id=conn_id,
    )
    try:
        with pg_connect(conn_id) as conn:
            keys = {"dag_id": dag_id, "run_id": run_id}
            cur = conn.execute(_sql("failed_checks"), keys)
            names = [d.name for d in cur.description]
            failed = [dict(zip(names, row)) for row in cur.fetchall()]
            # One failed-checks message per run: several tasks of a run can fail on the
            # same checks (the dbt producer and the node tasks watching it).
            already = conn.execute(_sql("failed_checks_alerted"), keys).fetchone()[0]
    except Exception as exc:  # noqa: BLE001
        log.error("could not read failed checks: %s", _sanitize(str(exc)))
        return
    if failed and not already:
        send_alert(
            "failed_checks",
            failed_checks_message(dag_id, run_id, logical_date, failed, log_url),
            dag_id=dag_id,
            run_id=run_id,
            conn_id=conn_id,
        )


def on_task_failure(context) -> None:
    """Airflow on_failure_callback: runs once a task has failed after its retries."""
    ti = context["ti"]
    error = context.get("exception")
    alert_failure(
        ti.dag_id,
        ti.task_id,
        ti.run_id,
        context.get("logical_date"),
        f"{type(error).__name__}: {error}" if error else "unknown error",
        log_url=getattr(ti, "log_url", None),
    )


# --- deadlines ------------------------------------------------------------------------


def _as_utc(value):
    """A datetime (or ISO text, as Airflow's JSON context carries it) in UTC, or None."""
    from datetime import UTC, datetime

    if value in (None, ""):
        return None
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _run_day(dag_run: dict) -> str:
    """Day D of a run as its message names it: the `day` param, else the logical date's UTC
    day; an asset-triggered run has neither (its days are its asset events')."""
    conf_day = (dag_run.get("conf") or {}).get("day")
    if conf_day:
        return str(conf_day)
    logical = _as_utc(dag_run.get("logical_date"))
    return logical.date().isoformat() if logical else "the days of its asset events"


def deadline_message(
    dag_id: str, day: str, run_id: str, state: str, deadline_time, rule: str
) -> dict:
    when = _as_utc(deadline_time)
    text = (
        f":alarm_clock: DAG `{_upstream(dag_id, 250)}` has not finished day "
        f"{_upstream(day, 50)} by its deadline "
        f"{when.strftime('%Y-%m-%d %H:%M') if when else 'unknown'} UTC "
        f"({_upstream(rule, 100)}): run `{_upstream(run_id, 250)}` is "
        f"{_upstream(state or 'unknown', 30)}.\n"
        "On call: a failed run has its own alert with the error; a running one is slow or "
        "stuck (its log shows the progress); a queued one is waiting for a worker or a pool "
        "slot. Once fixed, clear the failed task or rerun the day."
    )
    return {"text": text}


def on_deadline_missed(context, reference: str | None = None, interval: str | None = None):
    """The DAGs' Deadline Alert callback (a SyncCallback: a worker of the executor runs it
    with the scheduler's context, `dag_run` as JSON and `deadline`). It writes one
    `deadline_missed` alert to the outbox (and makes a delivery pass; the drain does the
    rest), naming the DAG, day D, the deadline and the run's state. A manual run or a
    backfill queued after its deadline had already passed (a rerun of an old day) is late
    on purpose: logged, not alerted. Returns whether it alerted."""
    dag_run = context.get("dag_run") or {}
    deadline_time = _as_utc((context.get("deadline") or {}).get("deadline_time"))
    dag_id, run_id = dag_run.get("dag_id"), dag_run.get("dag_run_id") or dag_run.get("run_id")
    queued = [t for t in map(_as_utc, (dag_run.get("queued_at"), dag_run.get("run_after"))) if t]
    if (
        dag_run.get("run_type") in ("manual", "backfill")
        and deadline_time is not None
        and queued
        and max(queued) >= deadline_time
    ):
        log.info(
            "deadline %s of %s run %s had passed before the run was queued: not alerted",
            deadline_time,
            dag_id,
            run_id,
        )
        return False
    rule = f"{reference} + {interval}" if reference and interval else "its deadline alert"
    send_alert(
        "deadline_missed",
        deadline_message(
            dag_id, _run_day(dag_run), run_id, dag_run.get("state"), deadline_time, rule
        ),
        dag_id=dag_id,
        run_id=run_id,
    )
    return True
