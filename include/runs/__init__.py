"""Day D of a run and the asset events that carry it between DAGs.

What a date means: a run for logical date D processes the data of day D, whatever the cron
offset (Amplitude: the events of UTC day D; Yelp: the holding snapshot dated D; Census and
the states page: the data as of D). Asset-triggered runs have no logical date in Airflow 3:
their day comes from the `day` extra that producers put on their asset events (`mark_day`).
"""

from __future__ import annotations


def logical_days(context) -> list:
    """Every day D a run must process, in order: the logical date's UTC day; for an
    asset-triggered run (no logical date in Airflow 3) each distinct `day` its triggering
    asset events carry. Events pile up while a run is busy, and the next run is triggered
    by all of them: each of their days is processed, not only the latest."""
    from datetime import date

    logical = context.get("logical_date")
    if logical is not None:
        return [logical.date()]
    days = {
        date.fromisoformat(e.extra["day"])
        for events in (context.get("triggering_asset_events") or {}).values()
        for e in events
        if (e.extra or {}).get("day")
    }
    if not days:
        raise ValueError(
            "no logical date and no triggering asset event with a 'day': "
            "trigger this DAG with a logical date"
        )
    return sorted(days)


def logical_day(context):
    """The latest day of `logical_days`: day D of a run that processes one day."""
    return logical_days(context)[-1]


def mark_day(context, asset) -> None:
    """Tag the asset event this task emits with day D, for asset-scheduled consumers."""
    context["outlet_events"][asset].extra = {"day": logical_day(context).isoformat()}


def run_context(context, task_id: str | None = None, day=None):
    """The RunContext (run, DAG, task, day D) check results are recorded under; `day`
    defaults to the run's latest day."""
    from include.quality import RunContext

    ti = context["ti"]
    return RunContext(
        run_id=ti.run_id,
        dag_id=ti.dag_id,
        task_id=task_id or ti.task_id,
        logical_date=day or logical_day(context),
    )


def xcom_value(result) -> dict:
    """A task's typed result (a dataclass) as the small JSON value XCom keeps."""
    import dataclasses
    import json

    return json.loads(json.dumps(dataclasses.asdict(result), default=str))
