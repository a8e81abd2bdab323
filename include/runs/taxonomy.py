"""One taxonomy for owners, tags and task defaults, enforced by tests/dags."""

from __future__ import annotations

import os
from datetime import timedelta

from include.sources import SOURCES

OWNERS = {"data-platform"}
LAYERS = {"layer:extract", "layer:warehouse", "layer:quality", "layer:alerts"}
TAGS = {f"source:{name}" for name in SOURCES} | LAYERS


def default_args() -> dict:
    from include.quality.alerts import on_task_failure

    return {
        "owner": "data-platform",
        "retries": int(os.environ.get("ELT_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=int(os.environ.get("ELT_RETRY_DELAY_SECONDS", "60"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": on_task_failure,
        # No task runs unbounded: a hung call fails the try (and alerts after the last).
        "execution_timeout": timedelta(
            minutes=int(os.environ.get("ELT_TASK_TIMEOUT_MINUTES", "120"))
        ),
    }


def day_param():
    """The `day` param of every DAG that processes days: empty (the data interval's day,
    or the asset events' days) or a YYYY-MM-DD date. Airflow validates the format when a
    run is triggered (2024-13-01 is refused in the form and the API); the first task
    refuses a day in the future (`include.runs.parse_day`)."""
    from airflow.sdk import Param

    from include.runs import DAY_FORMAT

    return Param(
        None,
        type=["null", "string"],
        format="date",
        pattern=DAY_FORMAT,
        title="day",
        description="Day D to process, YYYY-MM-DD (e.g. 2024-01-15); empty: the data "
        "interval's day. A run for an earlier day replaces that day's data.",
    )


def deadline(reference: str, interval: timedelta):
    """The DAG's deadline alert: when a run is not done `interval` after its `reference`
    ("logical date": the day's run is due at the end of its data interval, a day later;
    "queued at": asset-triggered and frequent DAGs), a Celery worker runs
    `include.quality.alerts.on_deadline_missed`, which alerts Slack through the outbox. A
    successful run cancels its deadline; a failed one keeps it."""
    from airflow.sdk.definitions.callback import SyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    references = {
        "logical date": DeadlineReference.DAGRUN_LOGICAL_DATE,
        "queued at": DeadlineReference.DAGRUN_QUEUED_AT,
    }
    return DeadlineAlert(
        reference=references[reference],
        interval=interval,
        callback=SyncCallback(
            "include.quality.alerts.on_deadline_missed",
            kwargs={"reference": reference, "interval": str(interval)},
        ),
        name=f"{reference} + {interval}",
    )
