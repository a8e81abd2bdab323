"""Day D of a run and the asset events that carry it between DAGs.

What a date means: a run for logical date D processes the data of day D, whatever the cron
offset (Amplitude: the events of UTC day D; Yelp: the holding snapshot dated D; Census and
the states page: the data as of D). Asset-triggered runs have no logical date in Airflow 3:
their day comes from the `day` extra that producers put on their asset events (`mark_day`).
"""

from __future__ import annotations


def logical_day(context):
    """Day D of a run: the logical date's UTC day; for an asset-triggered run (no logical
    date in Airflow 3) the latest `day` its triggering asset events carry."""
    from datetime import date

    logical = context.get("logical_date")
    if logical is not None:
        return logical.date()
    days = [
        date.fromisoformat(e.extra["day"])
        for events in (context.get("triggering_asset_events") or {}).values()
        for e in events
        if (e.extra or {}).get("day")
    ]
    if not days:
        raise ValueError(
            "no logical date and no triggering asset event with a 'day': "
            "trigger this DAG with a logical date"
        )
    return max(days)


def mark_day(context, asset) -> None:
    """Tag the asset event this task emits with day D, for asset-scheduled consumers."""
    context["outlet_events"][asset].extra = {"day": logical_day(context).isoformat()}


def run_context(context, task_id: str | None = None):
    """The RunContext (run, DAG, task, day D) check results are recorded under."""
    from include.quality import RunContext

    ti = context["ti"]
    return RunContext(
        run_id=ti.run_id,
        dag_id=ti.dag_id,
        task_id=task_id or ti.task_id,
        logical_date=logical_day(context),
    )


def xcom_value(result) -> dict:
    """A task's typed result (a dataclass) as the small JSON value XCom keeps."""
    import dataclasses
    import json

    return json.loads(json.dumps(dataclasses.asdict(result), default=str))
