"""`make up`'s local processes and docker-compose.yaml are one topology: every compose
service has a local counterpart, and the local Airflow settings are the compose file's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from local import topology

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_every_compose_service_has_a_local_counterpart():
    assert set(COMPOSE["services"]) == set(topology.COMPOSE_COUNTERPARTS)


def test_every_local_process_is_a_compose_service_or_a_local_stand_in():
    counterparts = {n for names in topology.COMPOSE_COUNTERPARTS.values() for n in names}
    assert set(topology.process_names()) == counterparts | set(topology.LOCAL_ONLY)
    assert len(topology.process_names()) == len(set(topology.process_names()))
    assert topology.COMPOSE_COUNTERPARTS["airflow-worker"] == (
        "celery-worker-1",
        "celery-worker-2",
    )


def _make_env() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "local.services", "env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    ).stdout
    return dict(re.findall(r"^export (\w+)=(.*)$", out, re.M))


def test_make_env_prints_the_compose_airflow_settings_with_local_hosts():
    env = _make_env()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://127.0.0.1:")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    compose_env = COMPOSE["x-airflow-common"]["environment"]
    for key, value in compose_env.items():
        if key == "PYTHONPATH" or key.startswith("AIRFLOW_CONN_"):
            continue
        if key in topology.SCHEDULER_ONLY_SETTINGS:
            # dag.test() (make run) has no triggerer: only the scheduler's processes get it.
            assert key not in env, key
            assert all(c.env[key] == str(value) for c in topology.airflow_components()), key
            continue
        assert key in env, key
        if "${" not in str(value):
            assert env[key].strip("'") == str(value), key
    # The compose file's connections are the deployment's (its roles and S3 service):
    # the local stack keeps its own.
    assert "elt_pipeline" not in env["AIRFLOW_CONN_SOURCE_DB"]


def test_compose_variables_substitute_like_compose():
    v = {"A": "1", "E": ""}
    assert topology.substitute("${A}-${B:-x}-${E:-y}-${E-z}", v) == "1-x-y-"
    try:
        topology.substitute("${B:?set it}", v)
    except KeyError as exc:
        assert "set it" in str(exc)
    else:
        raise AssertionError("${B:?...} must refuse a missing variable")
