"""One taxonomy for owners, tags and task defaults, enforced by tests/dags."""

from __future__ import annotations

import os
from datetime import timedelta

OWNERS = {"data-platform"}
TAGS = {
    "source:census", "source:states_page", "source:yelp", "source:amplitude",
    "layer:extract", "layer:warehouse", "layer:quality",
}


def default_args() -> dict:
    from include.alerts import on_task_failure

    return {
        "owner": "data-platform",
        "retries": int(os.environ.get("ELT_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=int(os.environ.get("ELT_RETRY_DELAY_SECONDS", "60"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": on_task_failure,
    }


def logical_day(context):
    """Day D of a run (DESIGN.md, 'What a date means'): the logical date's UTC day; for an
    asset-triggered run (no logical date in Airflow 3) the latest `day` its triggering
    asset events carry."""
    from datetime import date

    logical = context.get("logical_date")
    if logical is not None:
        return logical.date()
    days = [date.fromisoformat(e.extra["day"])
            for events in (context.get("triggering_asset_events") or {}).values()
            for e in events if (e.extra or {}).get("day")]
    if not days:
        raise ValueError("no logical date and no triggering asset event with a 'day': "
                         "trigger this DAG with a logical date")
    return max(days)


def mark_day(context, asset) -> None:
    """Tag the asset event this task emits with day D, for asset-scheduled consumers."""
    context["outlet_events"][asset].extra = {"day": logical_day(context).isoformat()}


def run_context(context, task_id: str):
    from include.quality import RunContext

    ti = context["ti"]
    return RunContext(run_id=ti.run_id, dag_id=ti.dag_id, task_id=task_id,
                      logical_date=logical_day(context))
