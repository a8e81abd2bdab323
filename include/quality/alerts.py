"""Slack alerts through the `slack_alerts` webhook connection, with a PostgreSQL outbox.

An alert is stored in `quality.alert_outbox` first, then delivered; a 429 is retried after
its Retry-After, and an outage leaves the row pending for the next delivery attempt.
Delivery never raises: an alert must not fail a load.
"""

from __future__ import annotations

import json
import logging
import re

log = logging.getLogger(__name__)
MAX_RETRY_AFTER_SECONDS = 30


def _sanitize(message: str) -> str:
    """Errors from the webhook client may embed the URL: strip anything URL- or token-like."""
    return re.sub(r"https?://\S+|T[A-Z0-9]+/B[A-Z0-9]+/\S+", "<redacted>", message)[:500]


def _webhook_send(payload: dict) -> None:
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    hook = SlackWebhookHook(
        slack_webhook_conn_id="slack_alerts",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    hook.send(**payload)


def failed_checks_message(
    dag_id: str, run_id: str, logical_date, failed: list[dict], log_url: str | None = None
) -> dict:
    failed = sorted(failed, key=lambda c: c.get("status") != "fail")  # real failures first
    lines = [
        f"• `{c['check_name']}` on `{c['target']}` ({c['dimension']}): "
        + (
            f"observed {c['observed']}, expected {c['expected']}"
            if c.get("status", "fail") == "fail"
            else "not evaluated (error)"
        )
        for c in failed[:20]
    ]
    if len(failed) > 20:
        lines.append(f"• … and {len(failed) - 20} more in quality.check_results")
    text = (
        f":red_circle: {len(failed)} failed check(s) in DAG `{dag_id}`, logical date "
        f"{logical_date}, run `{run_id}`\n" + "\n".join(lines)
    )
    if log_url:
        text += f"\nLog: {log_url}"
    return {"text": text}


def task_failure_message(
    dag_id: str, task_id: str, run_id: str, logical_date, error: str, log_url: str | None = None
) -> dict:
    text = (
        f":rotating_light: Task `{task_id}` of DAG `{dag_id}` failed, logical date "
        f"{logical_date}, run `{run_id}`.\nError: {_sanitize(error)}"
    )
    if log_url:
        text += f"\nLog: {log_url}"
    return {"text": text}


def deliver_pending(conn, limit: int = 50) -> int:
    """Try every pending alert, oldest first; returns how many were delivered."""
    delivered = 0
    rows = conn.execute(
        "select id, payload from quality.alert_outbox where status = 'pending' "
        "order by id limit %s",
        (limit,),
    ).fetchall()
    for alert_id, payload in rows:
        try:
            _webhook_send(payload)
        except Exception as exc:  # noqa: BLE001 - any delivery failure keeps the alert pending
            conn.execute(
                "update quality.alert_outbox set attempts = attempts + 1, "
                "last_error = %s where id = %s",
                (_sanitize(str(exc)), alert_id),
            )
            conn.commit()
            log.warning(
                "Slack alert %s not delivered, kept pending: %s", alert_id, _sanitize(str(exc))
            )
            break  # Slack is unhappy: stop here and keep the order
        conn.execute(
            "update quality.alert_outbox set status = 'sent', sent_at = now(), "
            "attempts = attempts + 1, last_error = null where id = %s",
            (alert_id,),
        )
        conn.commit()
        delivered += 1
    return delivered


def send_alert(
    kind: str, payload: dict, dag_id=None, run_id=None, task_id=None, conn_id: str = "source_db"
) -> bool:
    """Store then deliver. Returns True when this alert reached Slack."""
    from include.connections import pg_connect

    try:
        with pg_connect(conn_id) as conn:
            alert_id = conn.execute(
                "insert into quality.alert_outbox (dag_id, run_id, task_id, kind, payload) "
                "values (%s, %s, %s, %s, %s::jsonb) returning id",
                (dag_id, run_id, task_id, kind, json.dumps(payload)),
            ).fetchone()[0]
            conn.commit()
            deliver_pending(conn)
            return conn.execute(
                "select status = 'sent' from quality.alert_outbox where id = %s", (alert_id,)
            ).fetchone()[0]
    except Exception as exc:  # noqa: BLE001 - the outbox is down too: try Slack directly
        log.error("alert outbox unavailable (%s); sending directly", _sanitize(str(exc)))
        try:
            _webhook_send(payload)
            return True
        except Exception as exc2:  # noqa: BLE001
            log.error("Slack alert lost: outbox and webhook both failed: %s", _sanitize(str(exc2)))
            return False


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
            cur = conn.execute(
                "select check_name, target, dimension, status, observed, expected "
                "from quality.check_results where dag_id = %s and run_id = %s "
                "and status in ('fail', 'error') order by id",
                (dag_id, run_id),
            )
            keys = [d.name for d in cur.description]
            failed = [dict(zip(keys, row)) for row in cur.fetchall()]
            # One failed-checks message per run: several tasks of a run can fail on the
            # same checks (the dbt producer and the node tasks watching it).
            already = conn.execute(
                "select 1 from quality.alert_outbox where kind = 'failed_checks' "
                "and dag_id = %s and run_id = %s limit 1",
                (dag_id, run_id),
            ).fetchone()
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
