"""Asset events pile up while a warehouse run is busy: the next run is triggered by all of
them at once. Every day they carry must reach the lake, the staging and the
reconciliation, in day order; not only the latest. And an event Airflow never turned into
a run (apache/airflow#56050) must lose no day: the next run also takes every day a source
landed that the target has not exported."""

import uuid
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from include.connections import pg_connect
from include.quality import RunContext
from include.runs.assets import AMPLITUDE_RAW_ASSET

pytestmark = pytest.mark.integration
D1, D2, D3 = date(2031, 3, 1), date(2031, 3, 2), date(2031, 3, 3)
LOST, NEXT = date(2031, 4, 1), date(2031, 4, 2)
DAGS = Path(__file__).resolve().parents[3] / "dags"


@pytest.fixture(scope="module")
def warehouse_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "warehouse.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("warehouse")


def _context(run_id: str, task_id: str, days: list[date]) -> dict:
    """What Airflow hands an asset-triggered run's task: no logical date, the events."""
    events = [SimpleNamespace(extra={"day": d.isoformat()}) for d in days]
    ti = SimpleNamespace(run_id=run_id, dag_id="warehouse", task_id=task_id)
    return {
        "logical_date": None,
        "ti": ti,
        "triggering_asset_events": {AMPLITUDE_RAW_ASSET: events},
    }


def _up_to_date() -> None:
    """Given: a warehouse that exported every day landed so far (earlier tests land days
    they never export), so a plan holds only what a test lands and queues."""
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(
            "insert into lake.exported_landings (target, source, day, landed_at) "
            "select 'postgres', source, day, landed_at from raw.landed_days "
            "on conflict (target, source, day) do update set landed_at = excluded.landed_at"
        )


def _run(warehouse_dag, run_id: str, queued: list[date]) -> list[str]:
    """The warehouse run's first tasks, as Airflow calls them for an asset-triggered run."""
    days = warehouse_dag.get_task("plan_days").python_callable(
        **_context(run_id, "plan_days", queued)
    )
    warehouse_dag.get_task("export_lake").python_callable(days)
    warehouse_dag.get_task("load_staging").python_callable(days)
    warehouse_dag.get_task("reconcile").python_callable(
        days, **_context(run_id, "reconcile", queued)
    )
    return days


def _events_per_day(days: list[date]) -> tuple[dict, dict]:
    """(raw, staged): Amplitude events per day in raw.amplitude_event (source_db) and in
    staging.amplitude_event (warehouse_db), read with plain SQL."""
    with pg_connect("source_db") as conn:
        raw = dict(
            conn.execute(
                "select export_day, count(*) from raw.amplitude_event where export_day = any(%s) "
                "group by 1",
                (days,),
            ).fetchall()
        )
    with pg_connect("warehouse_db") as conn:
        staged = dict(
            conn.execute(
                "select _lake_day, count(*) from staging.amplitude_event where _lake_day = any(%s) "
                "group by 1",
                (days,),
            ).fetchall()
        )
    return raw, staged


def test_every_queued_day_is_exported_staged_and_reconciled(warehouse_dag):
    from include.sources.amplitude import ingest_day

    _up_to_date()
    run_id = f"test-queued-{uuid.uuid4()}"
    for day in (D1, D2, D3):
        ingest_day(day, RunContext(run_id, "amplitude_events", "export_archive_load", day))
    # The events arrive out of order, and D2 twice (a rerun of its source DAG).
    queued = [D3, D1, D2, D2]
    assert _run(warehouse_dag, run_id, queued) == [d.isoformat() for d in (D1, D2, D3)]

    with pg_connect("source_db") as conn:
        exported = {
            r[0]
            for r in conn.execute(
                "select day from lake.exports where table_name = 'amplitude_event' "
                "and day = any(%s)",
                ([D1, D2, D3],),
            )
        }
        reconciled = dict(
            conn.execute(
                "select logical_date, count(*) from quality.check_results where run_id = %s "
                "and dag_id = 'warehouse' and task_id = 'reconcile' and status = 'pass' "
                "group by 1",
                (run_id,),
            ).fetchall()
        )
        not_passed = conn.execute(
            "select check_name, status, count(*) from quality.check_results where run_id = %s "
            "and dag_id = 'warehouse' and status <> 'pass' group by 1, 2 order by 1",
            (run_id,),
        ).fetchall()
    raw, staged = _events_per_day([D1, D2, D3])
    assert exported == {D1, D2, D3}
    assert staged == raw and set(staged) == {D1, D2, D3}
    assert set(reconciled) == {D1, D2, D3}  # each day's checks kept, none overwritten
    # Only the sources that did not run these days are behind (one warn each per day).
    assert not_passed == [
        (f"source_landed_{s}", "warn", 3) for s in ("census", "states_page", "yelp")
    ]


def test_a_landed_day_whose_event_never_made_a_run_is_processed_by_the_next_run(warehouse_dag):
    """LOST landed, but its asset event produced no run; NEXT's event triggers a run: it
    processes LOST too, in order, and a rerun of that run keeps its days."""
    from airflow.sdk.exceptions import AirflowSkipException

    from include.sources.amplitude import ingest_day

    _up_to_date()
    source_run = f"test-lost-{uuid.uuid4()}"
    for day in (LOST, NEXT):
        ingest_day(day, RunContext(source_run, "amplitude_events", "export_archive_load", day))
    run_id = f"test-lost-warehouse-{uuid.uuid4()}"
    assert _run(warehouse_dag, run_id, [NEXT]) == [LOST.isoformat(), NEXT.isoformat()]
    raw, staged = _events_per_day([LOST, NEXT])
    assert staged == raw and set(raw) == {LOST, NEXT}

    # A cleared run plans again: the same days, though nothing is unexported any more.
    plan = warehouse_dag.get_task("plan_days").python_callable
    assert plan(**_context(run_id, "plan_days", [NEXT])) == [LOST.isoformat(), NEXT.isoformat()]
    # A new run with no event and nothing unexported has nothing to do.
    with pytest.raises(AirflowSkipException):
        plan(**_context(f"test-empty-{uuid.uuid4()}", "plan_days", []))

    # A day landed again while a run was busy: the run queues a catch-up run; a run that
    # names its day never does.
    landed = warehouse_dag.get_task("landed_during_run").python_callable
    assert landed(**_context(run_id, "landed_during_run", [NEXT])) is False
    ingest_day(LOST, RunContext(source_run, "amplitude_events", "export_archive_load", LOST))
    assert landed(**_context(run_id, "landed_during_run", [NEXT])) is True
    named = {**_context(run_id, "landed_during_run", []), "params": {"day": "2024-01-15"}}
    assert landed(**named) is False
    _up_to_date()


def test_an_event_day_exported_since_it_landed_is_not_processed_again(warehouse_dag):
    """A catch-up run took day D (landed, exported) before the event of D's landing got its
    own run: that run has nothing left to do. A new landing of D is processed again, and a
    day that no source recorded as landed is processed whenever an event carries it."""
    from airflow.sdk.exceptions import AirflowSkipException

    from include.landing import record_landed_day

    day, unrecorded = date(2031, 5, 1), date(2031, 5, 2)
    plan = warehouse_dag.get_task("plan_days").python_callable
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute("delete from raw.landed_days where day = any(%s)", ([day, unrecorded],))
        record_landed_day(conn, "test_plan", day)
    try:
        _up_to_date()  # the catch-up run exported D since it landed
        with pytest.raises(AirflowSkipException):
            plan(**_context(f"test-done-{uuid.uuid4()}", "plan_days", [day]))
        unrecorded_run = f"test-unrecorded-{uuid.uuid4()}"
        assert plan(**_context(unrecorded_run, "plan_days", [unrecorded])) == [
            unrecorded.isoformat()
        ]
        with pg_connect("source_db", autocommit=True) as conn:
            record_landed_day(conn, "test_plan", day)  # D landed again: a new landing
        again = f"test-again-{uuid.uuid4()}"
        assert plan(**_context(again, "plan_days", [day])) == [day.isoformat()]
    finally:
        with pg_connect("source_db", autocommit=True) as conn:
            conn.execute("delete from raw.landed_days where source = 'test_plan'")
            conn.execute("delete from lake.exported_landings where source = 'test_plan'")
