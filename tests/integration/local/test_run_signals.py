"""`make run` stops on SIGTERM (what Airflow's task runner, systemd or CI send) and on
Ctrl-C: within a grace period, with a non-zero status, leaving no process behind."""

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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_make_run_stops_on_a_signal_and_leaves_nothing_behind(tmp_path, sig):
    log = tmp_path / "run.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.run", "--date", "2030-06-02", "--log", str(log)],
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
    time.sleep(2)  # inside a task
    sent = time.monotonic()
    os.kill(proc.pid, sig)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"still running 60 s after {sig.name}")
    took = time.monotonic() - sent
    assert rc != 0
    assert took < 45, took
    time.sleep(1)
    assert _session_processes(proc.pid) == []  # the run's whole session is gone
