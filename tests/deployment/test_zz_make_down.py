"""`make status` names every component; `make down` stops them all: no process of the
stack and no listening port is left. (Last in tests/deployment: it ends the stack.)"""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from local import topology
from tests.deployment.conftest import PORTS, STATE, make

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stack_processes() -> list[str]:
    """Processes whose command line names the deployment stack's state directory or
    its ports, read from ps (not from the pid files `make down` uses)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,args="], capture_output=True, text=True)
    marks = [str(STATE), *(f"{p}" for p in (PORTS["ELT_REDIS_PORT"], PORTS["ELT_S3_PORT"]))]
    return [
        line
        for line in out.stdout.splitlines()
        if any(m in line for m in marks) and "ps -e" not in line and "pytest" not in line
    ]


def test_make_status_then_make_down_leaves_no_process_and_no_port(deployment):
    status = make("status").stdout.splitlines()
    names = [line.split()[0] for line in status]
    assert names == topology.process_names()
    for line in status:
        name, state, *pid = line.split()
        if name in ("bigquery", "gcs"):  # the emulators are not part of `make up`
            continue
        assert state == "running" and pid and pid[0].isdigit(), line

    pids = [int(line.split()[2]) for line in status if line.split()[1] == "running"]
    down = make("down", timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr

    def leftovers() -> list[str]:
        alive = [
            f"pid {pid}"
            for pid in pids
            if subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode == 0
        ]
        ports = [f"{k}={p}" for k, p in PORTS.items() if _listening(int(p))]
        return alive + ports + _stack_processes()

    deadline = time.monotonic() + 20  # a process's last exit can trail `make down` a little
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not leftovers(), (leftovers(), down.stdout, status)
    after = make("status").stdout
    assert all(line.split()[1] == "stopped" for line in after.splitlines()), after
