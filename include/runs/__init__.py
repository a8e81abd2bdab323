"""Day D of a run and the asset events that carry it between DAGs.

What a date means: a run for logical date D processes the data of day D, whatever the cron
offset (Amplitude: the events of UTC day D; Yelp: the holding snapshot dated D; Census and
the states page: the data as of D). Asset-triggered runs have no logical date in Airflow 3:
their day comes from the `day` extra that producers put on their asset events (`mark_day`).
A run can also name its day: the DAGs' `day` param (YYYY-MM-DD, validated; empty means the
data interval's day) wins over both.
"""

from __future__ import annotations

from datetime import date

DAY_FORMAT = r"^\d{4}-\d{2}-\d{2}$"  # the `day` param: an ISO date, YYYY-MM-DD
MAX_DAYS_AHEAD = 1  # a `day` after tomorrow (UTC) has no data anywhere yet


def parse_day(value) -> date:
    """A `day` param as a date. ValueError naming the value when it is not a YYYY-MM-DD
    calendar date (2024-13-01) or lies in the future (no source has data for it)."""
    import re
    from datetime import UTC, datetime, timedelta

    text = str(value).strip()
    try:
        if not re.fullmatch(DAY_FORMAT, text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"param day {text!r} is not a calendar date: give YYYY-MM-DD (e.g. 2024-01-15), "
            "or leave it empty for the data interval's day"
        ) from None
    today = datetime.now(UTC).date()
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValueError(
            f"param day {text!r} is in the future (today is {today.isoformat()} UTC): no "
            "source has data for it yet; give a past day, or leave it empty"
        )
    return day


def param_day(context) -> date | None:
    """The run's `day` param (validated), or None when it is not set."""
    value = (context.get("params") or {}).get("day")
    return None if value in (None, "") else parse_day(value)


def logical_days(context) -> list:
    """Every day D a run must process, in order: the `day` param when the run sets one;
    else the logical date's UTC day; for an asset-triggered run (no logical date in
    Airflow 3) each distinct `day` its triggering asset events carry. Events pile up while
    a run is busy, and the next run is triggered by all of them: each of their days is
    processed, not only the latest."""
    explicit = explicit_day(context)
    if explicit is not None:
        return [explicit]
    days = event_days(context)
    if not days:
        raise ValueError(
            "no logical date and no triggering asset event with a 'day': "
            "trigger this DAG with a logical date or the `day` param (YYYY-MM-DD)"
        )
    return days


def explicit_day(context) -> date | None:
    """The day a run names: its `day` param, else its logical date's UTC day; None for an
    asset-triggered run (or a manual one without a logical date)."""
    explicit = param_day(context)
    if explicit is not None:
        return explicit
    logical = context.get("logical_date")
    return None if logical is None else logical.date()


def event_days(context) -> list[date]:
    """Each distinct `day` the run's triggering asset events carry, in order."""
    return sorted(
        {
            date.fromisoformat(e.extra["day"])
            for events in (context.get("triggering_asset_events") or {}).values()
            for e in events
            if (e.extra or {}).get("day")
        }
    )


def logical_day(context):
    """The latest day of `logical_days`: day D of a run that processes one day."""
    return logical_days(context)[-1]


def mark_day(context, asset, day: date | None = None) -> None:
    """Tag the asset event this task emits with day D (default: the run's latest day), for
    asset-scheduled consumers."""
    context["outlet_events"][asset].extra = {"day": (day or logical_day(context)).isoformat()}


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


def status_counts(results) -> dict[str, int]:
    """Check results as the small value a `check` task returns to XCom: {status: count}."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts
