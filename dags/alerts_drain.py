"""Slack alert outbox: every 5 minutes, deliver what is due in quality.alert_outbox."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from include.runs.taxonomy import deadline, default_args

with DAG(
    dag_id="alerts_drain",
    schedule="*/5 * * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    dagrun_timeout=timedelta(minutes=10),
    # A drain not done 15 minutes after it queued is stuck; this alert makes its own
    # delivery pass (send_alert), so it does not wait for the drain.
    deadline=deadline("queued at", timedelta(minutes=15)),
    tags=["layer:alerts"],
    doc_md="""
### alerts_drain
Every 5 minutes, posts the Slack alerts of `quality.alert_outbox` that are due (pending and
past their backoff, or claimed by a drain that died and whose lease expired), oldest first,
one claim (`FOR UPDATE SKIP LOCKED`) and one post at a time, then posts one summary of any
new dead letters. Delivery is at least once: a drain that dies between Slack's 200 and its
`sent` mark leaves the row to be posted again. The contract is in docs/decisions.md
("Alerts always arrive").

**On call:** a `dead_letters` message in Slack names alerts that will not be delivered:
Slack rejected their payload (400/403/404/410) or they ran out of attempts
(`ELT_ALERT_MAX_ATTEMPTS`, default 24, about nine hours of outage). Read them with
`select id, kind, dag_id, task_id, last_error, payload->>'text' from quality.alert_outbox
where status = 'dead' order by id`; once the cause is fixed, resend with `update
quality.alert_outbox set status = 'pending', attempts = 0, next_attempt_at = now(),
dead_at = null, dead_notified_at = null where id in (...)`. A red run of this DAG means Slack
rejected the dead-letter summary itself: the `slack_alerts` webhook is revoked or its
channel archived or deleted; fix the connection, then resend as above. Pending rows with
a growing `attempts` and `last_http_status` 5xx/null mean Slack is unreachable: nothing to
do, they are posted once it answers.
""",
) as dag:

    @task(execution_timeout=timedelta(minutes=4))
    def drain_outbox():
        from include.quality.alerts import drain
        from include.runs import xcom_value

        return xcom_value(drain())

    drain_outbox()
