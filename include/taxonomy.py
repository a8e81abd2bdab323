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
    """Day D of a run: the logical date's UTC date (DESIGN.md, 'What a date means')."""
    logical = context.get("logical_date")
    if logical is None:
        raise ValueError("this DAG needs a logical date (trigger it with one)")
    return logical.date()


def run_context(context, task_id: str):
    from include.quality import RunContext

    ti = context["ti"]
    return RunContext(run_id=ti.run_id, dag_id=ti.dag_id, task_id=task_id,
                      logical_date=logical_day(context))
