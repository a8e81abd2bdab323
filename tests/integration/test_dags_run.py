"""The DAGs themselves, run with dag.test() against the real local services."""

from datetime import datetime, timezone

import pytest

from include.connections import pg_connect

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag
    from pathlib import Path

    return DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))


@pytest.mark.parametrize("dag_id,checks", [("states_page", 3), ("census_population", 4),
                                           ("warehouse", None)])
def test_dag_run_for_a_logical_date_records_its_checks(dagbag, dag_id, checks):
    from include.migrate import migrate

    migrate()
    logical = datetime(2024, 2, 10, tzinfo=timezone.utc)
    dr = dagbag.get_dag(dag_id).test(logical_date=logical)
    assert dr.state == "success", [(t.task_id, t.state) for t in dr.get_task_instances()]
    with pg_connect("source_db") as conn:
        rows = conn.execute("select logical_date, status from quality.check_results "
                            "where dag_id = %s and run_id = %s", (dag_id, dr.run_id)).fetchall()
        batch = conn.execute("select count(*) from raw.batches where logical_date = %s",
                             (logical.date(),)).fetchone()[0]
    if checks is not None:
        assert len(rows) == checks
    else:  # warehouse: 5 reconciliation checks and every dbt test
        assert len(rows) > 20
    assert {r[0] for r in rows} == {logical.date()}  # day D is the logical date's day
    assert {r[1] for r in rows} == {"pass"}
    assert batch >= 1
