"""Every DAG imports, follows the taxonomy, retries with backoff, alerts on failure, and
keeps heavy libraries out of parse time."""

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from include.taxonomy import OWNERS, TAGS

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
HEAVY = ("pandas", "great_expectations", "pyarrow", "google.cloud", "psycopg", "bs4", "cosmos")


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
    from include.alerts import on_task_failure

    for dag in dagbag.dags.values():
        for t in dag.tasks:
            assert t.retries >= 2, (dag.dag_id, t.task_id)
            assert t.retry_exponential_backoff, (dag.dag_id, t.task_id)
            assert t.retry_delay >= timedelta(seconds=1)
            callbacks = t.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert on_task_failure in callbacks, (dag.dag_id, t.task_id)


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS_DIR.glob("*.py")))
def test_no_heavy_imports_at_parse_time(dag_file):
    code = (
        "import importlib.util, json, sys, time\n"
        # What Airflow itself loads (plugins such as cosmos's cluster policy) is not the
        # DAG file's doing: measure only what the file adds.
        "import airflow.sdk, airflow.timetables.interval, pendulum\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('d', {str(DAGS_DIR / dag_file)!r})\n"
        "m = importlib.util.module_from_spec(spec); t = time.perf_counter()\n"
        "spec.loader.exec_module(m)\n"
        "print(json.dumps({'mods': sorted(set(sys.modules) - before), 'secs': time.perf_counter() - t}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=DAGS_DIR.parent)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    loaded = [m for m in result["mods"] if m.split(".")[0] in {h.split(".")[0] for h in HEAVY}
              and any(m == h or m.startswith(h + ".") for h in HEAVY)]
    print(f"{dag_file}: parsed in {result['secs']:.2f}s")
    assert loaded == [], f"{dag_file} imports heavy modules at top level: {loaded[:5]}"
