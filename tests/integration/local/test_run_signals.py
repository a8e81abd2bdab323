"""`make run` stops on SIGTERM (what Airflow's task runner, systemd or CI send) and on
Ctrl-C: within a grace period, with a non-zero status, leaving no process behind."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _session_processes(sid: int) -> list[str]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,sid=,args="], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.split()[1] == str(sid)]


def _runs(day: str) -> list[tuple]:
    """(dag_id, state, start_date, end_date) of the metadata DB's runs for logical date
    `day`, read with psql-level SQL (not through the code under test)."""
    import psycopg

    url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace(
        "postgresql+psycopg2", "postgresql"
    )
    with psycopg.connect(url, connect_timeout=10) as conn:
        return conn.execute(
            "select dag_id, state, start_date, end_date from dag_run "
            "where logical_date::date = %s and triggered_by = 'TEST' order by dag_id",
            (day,),
        ).fetchall()


def _fresh_day(offset: int) -> str:
    """A logical date no earlier test run used: dag.test() reuses a date's earlier run. From
    2050 on: the other tests land fixed days up to 2044, and a `make run` here lands every
    source for its day (measured: a day drawn in 2031 was one test_queued_days lands, and
    its `source_landed_census` count was off by one)."""
    from datetime import date, timedelta

    minutes = int(time.time()) // 60
    return (date(2050, 1, 1) + timedelta(days=minutes % 15000 + offset)).isoformat()


def _start_make_run(day: str, log: Path) -> subprocess.Popen:
    """`make run` for `day` in a session of its own, once its first task has started."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.run", "--date", day, "--log", str(log)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while "Task " not in (log.read_text(errors="replace") if log.exists() else ""):
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "no task started within 120 s"
        time.sleep(0.5)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_make_run_stops_leaving_no_process_and_no_run_running(tmp_path, sig):
    """Stopped inside a task, within a grace period, with a non-zero status and no process
    left in its session. A killed `make run` also left its warehouse run "running" for
    good, and with max_active_runs=1 that blocked every later warehouse run under the
    scheduler; and dag.test() started its runs at the logical date (the UI read "Total:
    532d"): every run it made is finished and started at the wall clock."""
    day = _fresh_day(0 if sig == signal.SIGTERM else 2)
    before = time.time()
    proc = _start_make_run(day, tmp_path / "run.log")
    time.sleep(2)  # inside a task
    sent = time.monotonic()
    os.kill(proc.pid, sig)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"still running 60 s after {sig.name}")
    took = time.monotonic() - sent
    after = time.time()
    assert rc != 0
    assert took < 45, took
    time.sleep(1)
    assert _session_processes(proc.pid) == []  # the run's whole session is gone
    runs = _runs(day)
    assert runs, "the run made no DAG run"
    for dag_id, state, start, end in runs:
        assert state != "running", (dag_id, state)
        assert before - 5 <= start.timestamp() <= after, (dag_id, start)  # not the logical date
        assert end is not None and end >= start, (dag_id, start, end)


def test_the_next_make_run_fails_the_runs_a_killed_one_left_running(tmp_path):
    """SIGKILL gives the supervisor no chance: the next `make run` marks the runs the dead
    one made as failed before it starts its own, so none blocks a later run."""
    day = _fresh_day(1)
    proc = _start_make_run(day, tmp_path / "run.log")
    deadline = time.monotonic() + 120
    while not any(state == "running" for _, state, _, _ in _runs(day)):
        assert time.monotonic() < deadline, "no DAG run running within 120 s"
        time.sleep(0.2)
    # Kill the whole tree at once: the supervisor and the child running dag.test().
    child_sids = {
        line.split()[1]
        for line in subprocess.run(
            ["ps", "-e", "-o", "pid=,sid=,ppid="], capture_output=True, text=True
        ).stdout.splitlines()
        if line.split()[2] == str(proc.pid)
    }
    os.killpg(proc.pid, signal.SIGKILL)
    for sid in child_sids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(sid), signal.SIGKILL)
    proc.wait(timeout=30)
    assert any(state == "running" for _, state, _, _ in _runs(day)), _runs(day)  # what was left
    out = tmp_path / "next.out"
    with out.open("wb") as fh:
        again = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.run",
                "--date",
                "2030-06-05",
                "--log",
                str(tmp_path / "b"),
            ],
            cwd=ROOT,
            start_new_session=True,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "left running by a stopped make run" not in out.read_text(errors="replace"):
            assert again.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.5)
    finally:
        os.kill(again.pid, signal.SIGTERM)
        again.wait(timeout=60)
    assert all(state != "running" for _, state, _, _ in _runs(day)), _runs(day)
