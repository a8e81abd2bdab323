"""The production topology (`make up`) on a stack of its own: its own state directory,
PostgreSQL cluster, Redis, S3 and ports, so the scheduler never sees the dag.test() runs
of the other tests, and `make down` can be checked to leave nothing behind.

The stack is started once for tests/deployment (package scope) and stopped at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".local" / "deployment"

# Below Linux's ephemeral range (32768-60999): a port in it can be taken by any outgoing
# connection's local end (measured: `make up` failed with "Address already in use").
_BASE_PORTS = {
    "ELT_PG_PORT": "25432",
    "ELT_REDIS_PORT": "26379",
    "ELT_S3_PORT": "29000",
    "ELT_SOURCES_PORT": "28080",
    "ELT_SLACK_PORT": "28081",
    "ELT_AIRFLOW_PORT": "28580",
    "ELT_BQ_REST_PORT": "29050",
    "ELT_BQ_GRPC_PORT": "29060",
    "ELT_GCS_PORT": "29023",
    "ELT_CELERY_WORKER_1_LOG_PORT": "28793",
    "ELT_CELERY_WORKER_2_LOG_PORT": "28794",
    "ELT_TRIGGERER_LOG_PORT": "28795",
    "ELT_SCHEDULER_HEALTH_PORT": "28974",
}
# Another worktree's deployment tests run beside these with ELT_DEPLOYMENT_PORT_OFFSET.
_OFFSET = int(os.environ.get("ELT_DEPLOYMENT_PORT_OFFSET", "0"))
PORTS = {k: str(int(v) + _OFFSET) for k, v in _BASE_PORTS.items()}
# What the tests need sooner than production does: a dead worker's task is failed after
# 30 s without heartbeat (Airflow's default: 300 s) and retried 5 s later.
TEST_SETTINGS = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    "ELT_RETRY_DELAY_SECONDS": "5",
}


def stack_environ() -> dict[str, str]:
    """This process's environment without the main stack's settings (make test exports
    them, and the local stack lets exported values win), plus the deployment's ports."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "ELT_", "BIGQUERY_", "STORAGE_EMULATOR", "GOOGLE_"))
        and k not in ("WAREHOUSE", "PYTHONPATH")
    }
    return {**env, **PORTS, **TEST_SETTINGS, "ELT_LOCAL_DIR": str(STATE)}


def make(target: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", target],
        cwd=ROOT,
        env=stack_environ(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Deployment:
    url: str
    env: dict[str, str]  # what `make env` prints for this stack
    user: str
    password: str
    token: str = ""

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        if not self.token:
            r = requests.post(
                f"{self.url}/auth/token",
                json={"username": self.user, "password": self.password},
                timeout=30,
            )
            r.raise_for_status()
            self.token = r.json()["access_token"]
        headers = {"Authorization": f"Bearer {self.token}"}
        r = requests.request(
            method, f"{self.url}/api/v2{path}", headers=headers, timeout=60, **kwargs
        )
        return r

    def get(self, path: str, **params) -> dict:
        r = self.api("GET", path, params=params)
        r.raise_for_status()
        return r.json()

    def conninfo(self, conn_id: str) -> str:
        c = json.loads(self.env[f"AIRFLOW_CONN_{conn_id.upper()}"])
        return (
            f"host={c['host']} port={c['port']} user={c['login']} password={c['password']} "
            f"dbname={c['schema']} connect_timeout=10"
        )

    def sql(self, conn_id: str, query: str, params=()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.conninfo(conn_id)) as conn:
            return conn.execute(query, params).fetchall()

    def pid(self, component: str) -> int:
        return int((STATE / "run" / f"{component}.pid").read_text())

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict:
        """Poll a DAG run until it is finished; every wait has a timeout."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                return run
            if time.monotonic() > deadline:
                pytest.fail(f"{dag_id} {run_id} still {run['state']} after {timeout:.0f} s")
            time.sleep(2)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)[
            "task_instances"
        ]


def _parse_env(text: str) -> dict[str, str]:
    import shlex

    env = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


@pytest.fixture(scope="package")
def deployment():
    make("down", timeout=300)  # whatever an interrupted earlier session left
    shutil.rmtree(STATE, ignore_errors=True)
    started = time.monotonic()
    up = make("up", timeout=1200)
    if up.returncode != 0:
        make("down", timeout=300)  # what did start must not outlive the session
        pytest.fail(f"make up failed:\n{up.stdout[-3000:]}{up.stderr[-3000:]}")
    print(f"make up took {time.monotonic() - started:.0f} s")
    env = _parse_env(make("env").stdout)
    login = json.loads(
        (STATE / "airflow" / "simple_auth_manager_passwords.json.generated").read_text()
    )
    user, password = next(iter(login.items()))
    assert f"login: {user} / {password}" in up.stdout  # make up prints the login
    yield Deployment(env["AIRFLOW__API__BASE_URL"], env, user, password)
    make("down", timeout=300)
