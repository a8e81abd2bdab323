"""The days a warehouse run processes, fixed once per run by its first task.

A run that names its day (the `day` param, or a logical date: `make run`, a manual trigger
with a date) processes that day only. An asset-triggered run (or a manual one without a
logical date) processes every day its asset events carry and also every day a source
landed that this warehouse target has not exported since (`unexported_days`): Airflow
drops asset events that arrive while a `max_active_runs=1` consumer is at its limit
(apache/airflow#56050, measured here: a backfill's third Amplitude day got no warehouse
run), so the events alone can lose a day; what landed and what was exported cannot.

The plan is kept in `lake.warehouse_runs` (run id, target): every task of the run reads the
same days, and a cleared run processes them again even when no event carried them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Plan:
    """A run's days, and why each is in it."""

    days: list[date]
    from_events: list[date] = field(default_factory=list)
    unexported: list[date] = field(default_factory=list)
    already_exported: list[date] = field(default_factory=list)
    explicit: bool = False
    reused: bool = False

    def describe(self, target: str) -> str:
        if self.reused:
            return f"days {_iso(self.days)} (this run's plan, kept from its first try)"
        if self.explicit:
            return f"day {_iso(self.days)} (named by the run: `day` param or logical date)"
        done = (
            f"; event days exported since they landed (not again): {_iso(self.already_exported)}"
            if self.already_exported
            else ""
        )
        return (
            f"days {_iso(self.days)}: from asset events {_iso(self.from_events)}; landed but "
            f"not yet exported for target {target}: {_iso(self.unexported)}{done}"
        )


def _iso(days) -> str:
    return "[" + ", ".join(d.isoformat() for d in days) + "]"


def planned_days(run_id: str, target: str | None = None, conn_id: str = "source_db"):
    """The days recorded for run `run_id` and `target`, or None when it has no plan."""
    from include.connections import pg_connect
    from include.lake import target_name

    with pg_connect(conn_id) as conn:
        row = conn.execute(
            "select run_days from lake.warehouse_runs where run_id = %s and target = %s",
            (run_id, target or target_name()),
        ).fetchone()
    return None if row is None else sorted(row[0])


def plan_days(context, conn_id: str = "source_db") -> Plan:
    """The run's plan: reused when the run already has one, else made and recorded. An
    empty plan (no event, nothing unexported) is not recorded."""
    from include.connections import pg_connect
    from include.lake import target_name
    from include.lake.export import unexported_days
    from include.runs import event_days, explicit_day

    run_id = context["ti"].run_id
    target = target_name()
    kept = planned_days(run_id, target, conn_id)
    if kept is not None:
        return Plan(days=kept, reused=True)
    day = explicit_day(context)
    if day is not None:
        plan = Plan(days=[day], explicit=True)
    else:
        events = event_days(context)
        unexported = unexported_days(target, conn_id)
        done = sorted(set(_landed(events, conn_id)) - set(unexported))
        plan = Plan(
            days=sorted((set(events) - set(done)) | set(unexported)),
            from_events=events,
            unexported=unexported,
            already_exported=done,
        )
    if plan.days:
        with pg_connect(conn_id, autocommit=True) as conn:
            conn.execute(
                "insert into lake.warehouse_runs (run_id, target, run_days) values (%s, %s, %s) "
                "on conflict (run_id, target) do nothing",
                (run_id, target, plan.days),
            )
        kept = planned_days(run_id, target, conn_id)  # a concurrent first try's plan wins
        if kept != plan.days:
            return Plan(days=kept, reused=True)
    return plan


def _landed(days: list[date], conn_id: str) -> list[date]:
    """Which of `days` a source recorded as landed (raw.landed_days)."""
    from include.connections import pg_connect

    if not days:
        return []
    with pg_connect(conn_id) as conn:
        return [
            r[0]
            for r in conn.execute(
                "select distinct day from raw.landed_days where day = any(%s)", (list(days),)
            )
        ]


def run_days(context, conn_id: str = "source_db") -> list[date]:
    """The days of the run's plan (any task of a warehouse run), else `logical_days`."""
    from include.runs import logical_days

    kept = planned_days(context["ti"].run_id, conn_id=conn_id)
    return kept if kept else logical_days(context)
