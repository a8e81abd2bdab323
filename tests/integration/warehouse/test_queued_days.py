"""Asset events pile up while a warehouse run is busy: the next run is triggered by all of
them at once. Every day they carry must reach the lake, the staging and the
reconciliation, in day order; not only the latest."""

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


def test_every_queued_day_is_exported_staged_and_reconciled(warehouse_dag):
    from include.sources.amplitude import ingest_day

    run_id = f"test-queued-{uuid.uuid4()}"
    for day in (D1, D2, D3):
        ingest_day(day, RunContext(run_id, "amplitude_events", "export_archive_load", day))
    # The events arrive out of order, and D2 twice (a rerun of its source DAG).
    queued = [D3, D1, D2, D2]
    for task_id in ("export_lake", "load_staging", "reconcile"):
        warehouse_dag.get_task(task_id).python_callable(**_context(run_id, task_id, queued))

    with pg_connect("source_db") as conn:
        exported = {
            r[0]
            for r in conn.execute(
                "select day from lake.exports where table_name = 'amplitude_event' "
                "and day = any(%s)",
                ([D1, D2, D3],),
            )
        }
        raw = dict(
            conn.execute(
                "select export_day, count(*) from raw.amplitude_event where export_day = any(%s) "
                "group by 1",
                ([D1, D2, D3],),
            ).fetchall()
        )
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
    with pg_connect("warehouse_db") as conn:
        staged = dict(
            conn.execute(
                "select _lake_day, count(*) from staging.amplitude_event where _lake_day = any(%s) "
                "group by 1",
                ([D1, D2, D3],),
            ).fetchall()
        )
    assert exported == {D1, D2, D3}
    assert staged == raw and set(staged) == {D1, D2, D3}
    assert set(reconciled) == {D1, D2, D3}  # each day's checks kept, none overwritten
    # Only the sources that did not run these days are behind (one warn each per day).
    assert not_passed == [
        (f"source_landed_{s}", "warn", 3) for s in ("census", "states_page", "yelp")
    ]
