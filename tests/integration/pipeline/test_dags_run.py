"""The DAGs themselves, run with dag.test() against the real local services."""

from datetime import UTC, datetime

import pytest

from include.connections import pg_connect

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dagbag():
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(Path(__file__).resolve().parents[3] / "dags"))


@pytest.mark.parametrize(
    "dag_id,checks", [("states_page", 4), ("census_population", 5), ("warehouse", None)]
)
def test_dag_run_for_a_logical_date_records_its_checks(dagbag, dag_id, checks):
    logical = datetime(2024, 2, 10, tzinfo=UTC)
    dr = dagbag.get_dag(dag_id).test(logical_date=logical)
    assert dr.state == "success", [(t.task_id, t.state) for t in dr.get_task_instances()]
    with pg_connect("source_db") as conn:
        rows = conn.execute(
            "select logical_date, status, check_name from quality.check_results "
            "where dag_id = %s and run_id = %s",
            (dag_id, dr.run_id),
        ).fetchall()
        batch = conn.execute(
            "select count(*) from raw.batches where logical_date = %s", (logical.date(),)
        ).fetchone()[0]
    if checks is not None:
        assert len(rows) == checks
    else:  # warehouse: 5 reconciliation checks and every dbt test
        assert len(rows) > 20
    assert {r[0] for r in rows} == {logical.date()}  # day D is the logical date's day
    # Only Yelp and Amplitude, which this test does not run for D, may be behind (their
    # staging may even be empty: a freshness warn "never loaded").
    not_passed = {r[2] for r in rows if r[1] != "pass"}
    assert not_passed <= {
        "source_landed_yelp",
        "source_landed_amplitude",
        "freshness_yelp_business_holding",
        "freshness_amplitude_amplitude_event",
        "freshness_amplitude_amplitude_event_property",
    }, not_passed
    assert {r[1] for r in rows if r[2] not in not_passed} == {"pass"}
    assert batch >= 1


def test_failing_dbt_test_fails_its_node_task_records_the_check_and_alerts(monkeypatch):
    """A staging row with a NULL county key (bad data past reconciliation, which counts
    distinct keys) breaks `not_null` on stg_census__county: the dbt tasks of the warehouse DAG
    must fail on that node, record the failed test in quality.check_results, and post one
    failed-checks message to Slack."""
    from pathlib import Path

    import requests
    from airflow.dag_processing.dagbag import DagBag

    from include.connections import get_connection

    monkeypatch.setenv("ELT_TASK_RETRIES", "0")  # read by default_args at parse time
    monkeypatch.setenv("ELT_DBT_POKE_SECONDS", "1")
    slack = get_connection("slack_alerts")
    sink = f"{slack.schema}://{slack.host.split('/')[0]}"
    requests.delete(f"{sink}/_messages", timeout=5)
    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[3] / "dags"))
    warehouse = bag.get_dag("warehouse")
    logical = datetime(2024, 2, 10, tzinfo=UTC)
    if not _staging_has_rows():  # the warehouse DAG test above loads staging
        assert warehouse.test(logical_date=logical).state == "success"
    with pg_connect("warehouse_db", autocommit=True) as wh:
        wh.execute(
            "insert into staging.county (county_fips, state_fips, county_name, "
            "updated_at, _lake_day) values (null, '01', 'Nowhere County', now(), "
            "'2024-02-10')"
        )
    try:
        dbt_only = warehouse.partial_subset(
            task_ids=[t for t in warehouse.task_ids if t.startswith("dbt.")],
            include_upstream=False,
            include_downstream=False,
        )
        dr = dbt_only.test(logical_date=datetime(2024, 2, 11, tzinfo=UTC))
    finally:
        with pg_connect("warehouse_db", autocommit=True) as wh:
            wh.execute("delete from staging.county where county_fips is null")
    states = {ti.task_id: ti.state for ti in dr.get_task_instances()}
    assert dr.state == "failed"
    assert states["dbt.dbt_producer_watcher"] == "failed"
    assert states["dbt.stg_census__county.test"] == "failed"
    assert states["dbt.dim_state.run"] == "success"  # unaffected branches still built
    with pg_connect("source_db") as conn:
        rows = dict(
            conn.execute(
                "select check_name, status from quality.check_results where run_id = %s "
                "and check_name like 'dbt:%%'",
                (dr.run_id,),
            ).fetchall()
        )
    assert rows["dbt:not_null_stg_census__county_county_fips"] == "fail"
    assert rows["dbt:unique_dim_state_state_key"] == "pass"
    texts = [
        m["payload"]["text"]
        for m in requests.get(f"{sink}/_messages", timeout=5).json()["messages"]
    ]
    failed_checks = [t for t in texts if "failed check(s)" in t]
    assert len(failed_checks) == 1, texts  # one failed-checks message for the run
    assert "warehouse" in failed_checks[0]
    assert "not_null_stg_census__county_county_fips" in failed_checks[0]
    # Tests dbt skipped behind the failed node are recorded as not evaluated, not passed.
    with pg_connect("source_db") as conn:
        skipped = conn.execute(
            "select status, details->>'message' from quality.check_results where run_id = %s "
            "and check_name = 'dbt:not_null_dim_county_county_key'",
            (dr.run_id,),
        ).fetchone()
    assert skipped[0] == "error" and "skipped" in skipped[1]


def _staging_has_rows() -> bool:
    with pg_connect("warehouse_db") as wh:
        return wh.execute("select count(*) from staging.county").fetchone()[0] > 0
