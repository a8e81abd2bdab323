"""Every DAG imports, follows the taxonomy, retries with backoff, alerts on failure, and
keeps heavy libraries out of parse time."""

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from include.runs.taxonomy import OWNERS, TAGS

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
# cosmos itself is imported at parse time by design (it renders the dbt tasks, ~0.4 s);
# dbt-core, which cosmos only needs in the tasks, must not be.
# (boto3 is not listed: Airflow loads the amazon provider's S3 asset-URI handler, and with
# it boto3, on the first Asset() of any DAG; the baseline below creates one first.)
HEAVY = ("pandas", "great_expectations", "pyarrow", "google.cloud", "psycopg", "bs4", "dbt", "moto")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    print(f"\nDagBag parse of {len(bag.dags)} DAGs: {time.perf_counter() - started:.2f}s")
    return bag


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"states_page", "census_population", "warehouse"} <= set(dagbag.dag_ids)


def test_owners_tags_docs(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags and set(dag.tags) <= TAGS, (dag.dag_id, dag.tags)
        assert dag.doc_md and "On call" in dag.doc_md, dag.dag_id
        for t in dag.tasks:
            assert t.owner in OWNERS, (dag.dag_id, t.task_id)


def test_retries_backoff_and_failure_notifier(dagbag):
    from include.quality.alerts import on_task_failure

    for dag in dagbag.dags.values():
        for t in dag.tasks:
            if t.task_type == "DbtProducerWatcherOperator":
                # One `dbt build` per run: a retry of the producer would only skip, so it
                # fails at once and the node tasks retry their own node.
                assert t.retries == 0, (dag.dag_id, t.task_id)
            else:
                assert t.retries >= 2, (dag.dag_id, t.task_id)
            assert t.retry_exponential_backoff, (dag.dag_id, t.task_id)
            assert t.retry_delay >= timedelta(seconds=1)
            callbacks = t.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert on_task_failure in callbacks, (dag.dag_id, t.task_id)


def test_every_task_has_an_execution_timeout(dagbag):
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            assert t.execution_timeout is not None, (dag.dag_id, t.task_id)
            assert timedelta(0) < t.execution_timeout <= timedelta(hours=12), (
                dag.dag_id,
                t.task_id,
            )


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS_DIR.glob("*.py")))
def test_no_heavy_imports_at_parse_time(dag_file):
    code = (
        "import importlib.util, json, sys, time\n"
        # What Airflow itself loads (plugins such as cosmos's cluster policy) is not the
        # DAG file's doing: measure only what the file adds.
        "import airflow.sdk, airflow.timetables.interval, pendulum\n"
        # The first Asset() makes Airflow import every provider's asset-URI handler (the
        # amazon S3 hook, the google GCS hook): once per process, whatever the DAG file.
        "airflow.sdk.Asset(name='baseline', uri='elt://baseline/x')\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('d', {str(DAGS_DIR / dag_file)!r})\n"
        "m = importlib.util.module_from_spec(spec); t = time.perf_counter()\n"
        "spec.loader.exec_module(m)\n"
        "print(json.dumps({'mods': sorted(set(sys.modules) - before),\n"
        "                  'secs': time.perf_counter() - t}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=DAGS_DIR.parent,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    loaded = [
        m
        for m in result["mods"]
        if m.split(".")[0] in {h.split(".")[0] for h in HEAVY}
        and any(m == h or m.startswith(h + ".") for h in HEAVY)
    ]
    print(f"{dag_file}: parsed in {result['secs']:.2f}s")
    assert loaded == [], f"{dag_file} imports heavy modules at top level: {loaded[:5]}"


def test_every_dbt_node_is_a_task_in_the_warehouse_dag(dagbag):
    """Each model and snapshot of the manifest built at setup is a task (cosmos renders them),
    and each model with tests has a task for its tests."""
    manifest = json.loads(
        (DAGS_DIR.parent / "dbt_project" / "target" / "manifest.json").read_text()
    )
    nodes = {k: v for k, v in manifest["nodes"].items() if v["package_name"] == "elt"}
    models = {v["name"] for v in nodes.values() if v["resource_type"] == "model"}
    snapshots = {v["name"] for v in nodes.values() if v["resource_type"] == "snapshot"}
    tested = {
        v["attached_node"].split(".")[-1]
        for v in nodes.values()
        if v["resource_type"] == "test" and v.get("attached_node")
    }
    assert {"dim_state", "dim_county", "dim_date", "fct_county_population"} <= models
    assert {"snap_state", "snap_county"} <= snapshots
    task_ids = set(dagbag.get_dag("warehouse").task_ids)
    for m in models:
        assert {f"dbt.{m}.run", f"dbt.{m}_run"} & task_ids, m
    for m in tested:
        assert f"dbt.{m}.test" in task_ids, m
    for snap in snapshots:
        assert f"dbt.{snap}_snapshot" in task_ids, snap
    assert "dbt.dbt_producer_watcher" in task_ids
    warehouse = dagbag.get_dag("warehouse")
    # dbt runs only after the warehouse reconciled, and the marts asset only after dbt.
    assert "reconcile" in warehouse.get_task("dbt.start").upstream_task_ids
    assert warehouse.get_task("publish_marts").upstream_task_ids
    # Source freshness runs on what the load staged, beside the build: a stale source
    # neither blocks the marts nor is hidden by them.
    freshness = warehouse.get_task("source_freshness")
    assert freshness.upstream_task_ids == {"plan_days", "load_staging"}
    assert freshness.downstream_task_ids == {"landed_during_run"}
    # Every task takes its days from the run's plan; the catch-up comes after all of them.
    for task_id in ("export_lake", "load_staging", "reconcile", "publish_marts"):
        assert "plan_days" in warehouse.get_task(task_id).upstream_task_ids, task_id
    assert warehouse.get_task("landed_during_run").trigger_rule == "all_done"
    assert warehouse.get_task("queue_catch_up_run").upstream_task_ids == {"landed_during_run"}


def test_dbt_node_tasks_start_once_the_build_is_over(dagbag):
    """Each node task only reads its node's result from the producer's `dbt build`: it
    starts after the build ended (success or not), so it never waits or defers beside the
    build on the same two cores. A failed build still lets each node report its own node
    (a failed reconcile still stops them: `dbt.start` after it, upstream_failed)."""
    warehouse = dagbag.get_dag("warehouse")
    producer = "dbt.dbt_producer_watcher"
    nodes = [
        t
        for t in warehouse.tasks
        if t.task_id.startswith("dbt.")
        and t.task_id not in (producer, f"{producer}_done", "dbt.start")
    ]
    assert len(nodes) > 30
    for t in nodes:
        assert producer in t.get_flat_relative_ids(upstream=True), t.task_id
    roots = [t for t in nodes if producer in t.upstream_task_ids]
    assert roots and all(t.upstream_task_ids == {"dbt.start", producer} for t in roots)
    assert {t.trigger_rule for t in roots} == {"all_done_min_one_success"}
    assert warehouse.get_task("dbt.start").upstream_task_ids == {"reconcile"}
    assert warehouse.get_task(producer).upstream_task_ids == {"dbt.start"}


def test_dag_order_puts_producers_before_asset_consumers(dagbag):
    from local.run import dag_order

    order, upstream = dag_order(dagbag.dags)
    assert set(order) == set(dagbag.dag_ids)
    assert order.index("warehouse") > max(
        order.index("states_page"),
        order.index("census_population"),
        order.index("yelp_businesses"),
        order.index("amplitude_events"),
    )
    # Yelp searches are built from the OLTP counties the Census DAG loads.
    assert order.index("yelp_businesses") > order.index("census_population")
    assert upstream["warehouse"] == {
        "states_page",
        "census_population",
        "yelp_businesses",
        "amplitude_events",
    }


def test_alerts_drain_delivers_every_few_minutes_one_run_at_a_time(dagbag):
    """Pending alerts do not wait for the next alert: a DAG drains the outbox."""
    dag = dagbag.get_dag("alerts_drain")
    assert dag is not None, "no alerts_drain DAG"
    assert dag.timetable.expression == "*/5 * * * *"
    assert dag.catchup is False and dag.max_active_runs == 1
    assert "layer:alerts" in dag.tags
    (drain,) = dag.tasks
    assert drain.execution_timeout <= timedelta(minutes=5)  # done before the next run
    from local.run import dag_order

    # make run: no DAG feeds it, so a failed source DAG never skips it (asset order free)
    _order, upstream = dag_order(dagbag.dags)
    assert upstream["alerts_drain"] == set()
