"""A Celery worker killed in the middle of a task: the scheduler sees the task's heartbeat
stop, the retry runs on the other worker, and the day completes with nothing twice."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import date

import pytest
import requests

from tests.deployment.conftest import make
from tests.deployment.test_scheduler_day import trigger, unpause

# A scheduler-driven day on a 2-core machine takes minutes (measured: 5-10 under load).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

DAY = date(2024, 3, 20)


def _control(dep, payload: dict) -> None:
    host = json.loads(dep.env["AIRFLOW_CONN_CENSUS_API"])["host"]
    requests.post(f"{host}/_control", json=payload, timeout=10).raise_for_status()


def test_a_worker_killed_mid_task_is_retried_on_the_other_and_the_day_completes(deployment):
    dep = deployment
    unpause(dep, "census_population")
    # The Census answers after 40 s: the task is surely mid-call when its worker dies.
    _control(dep, {"delay": {"census": 40}})
    try:
        run_id = trigger(dep, "census_population", DAY)
        deadline = time.monotonic() + 300
        while True:
            running = [
                t
                for t in dep.task_instances("census_population", run_id)
                if t["state"] == "running" and t["hostname"]
            ]
            if running:
                break
            assert time.monotonic() < deadline, "no task of the run started in 300 s"
            time.sleep(1)
        victim = running[0]
        killed = victim["hostname"]
        os.killpg(dep.pid(killed), signal.SIGKILL)  # the worker, its pool and the task
    finally:
        _control(dep, {})
    run = dep.wait_run("census_population", run_id, timeout=600)
    tries = dep.get(
        f"/dags/census_population/dagRuns/{run_id}/taskInstances/{victim['task_id']}/tries"
    )["task_instances"]
    assert run["state"] == "success", tries
    by_try = {t["try_number"]: t for t in tries}
    assert by_try[victim["try_number"]]["hostname"] == killed
    last = by_try[max(by_try)]
    assert last["state"] == "success" and last["try_number"] > victim["try_number"]
    assert last["hostname"] != killed and last["hostname"].startswith("celery-worker-")

    # Nothing twice: one raw batch for the day, its rows once, the OLTP rows once.
    batches = dep.sql(
        "source_db",
        "select batch_id, row_count from raw.batches where source = 'census' and logical_date = %s",
        (DAY,),
    )
    assert len(batches) == 1, batches
    (rows,) = dep.sql(
        "source_db",
        "select count(*) - count(distinct (state_fips, county_fips, date_code)) "
        "from raw.census_county_population where logical_date = %s",
        (DAY,),
    )[0]
    assert rows == 0
    # The topology is whole again for the tests after this one.
    up = make("up", timeout=600)
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
