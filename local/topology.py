"""The production topology as local processes: one definition shared with docker-compose.yaml.

`docker-compose.yaml` is the source of truth for the Airflow settings (its
`x-airflow-common` environment block) and for which components exist (its services).
This module reads that file, substitutes the compose variables (`${VAR:-default}`) with
the local stack's values (hosts on loopback, local ports, local secrets), and maps every
compose service to its local counterpart. A test checks that no compose service lacks one,
so the two cannot drift.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from local import config as cfg

COMPOSE_FILE = cfg.PROJECT_ROOT / "docker-compose.yaml"

# Compose service -> its local counterparts (process names of `make status`). An empty
# tuple is a one-shot step, not a process: `airflow-init` is what `make up` runs before
# it starts the Airflow components (migrations, pools).
COMPOSE_COUNTERPARTS: dict[str, tuple[str, ...]] = {
    "postgres": ("postgresql",),
    "redis": ("redis",),
    "s3": ("s3",),
    "airflow-init": (),
    "airflow-apiserver": ("api-server",),
    "airflow-scheduler": ("scheduler",),
    "airflow-dag-processor": ("dag-processor",),
    "airflow-triggerer": ("triggerer",),
    "airflow-worker": ("celery-worker-1", "celery-worker-2"),
}

# Local stand-ins for what production reaches over the internet (the source APIs, Slack)
# and the BigQuery/GCS emulators: no compose counterpart.
LOCAL_ONLY = ("sources", "slack-sink", "bigquery", "gcs")

WORKERS = COMPOSE_COUNTERPARTS["airflow-worker"]
# Each worker's own log-server port (two workers share one host here).
WORKER_LOG_PORTS = {
    name: int(os.environ.get(f"ELT_{name.upper().replace('-', '_')}_LOG_PORT", str(port)))
    for name, port in zip(WORKERS, (58793, 58794), strict=True)
}
TRIGGERER_LOG_PORT = int(os.environ.get("ELT_TRIGGERER_LOG_PORT", "58795"))
SCHEDULER_HEALTH_PORT = int(os.environ.get("ELT_SCHEDULER_HEALTH_PORT", "58974"))
# Four task slots per worker: most warehouse tasks are dbt node sensors that mostly wait.
WORKER_CONCURRENCY = int(os.environ.get("ELT_WORKER_CONCURRENCY", "4"))
ADMIN_USER = "admin"

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def substitute(value: str, variables: dict[str, str]) -> str:
    """Compose's variable syntax: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}."""

    def one(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        present = name in variables
        value = variables.get(name, "")
        if (op in (":-", ":?") and not value) or (op in ("-", "?") and not present):
            if op.endswith("?"):
                raise KeyError(f"compose variable {name} is required: {arg}")
            return arg
        return value

    return _VAR.sub(one, value)


def compose() -> dict:
    import yaml

    return yaml.safe_load(COMPOSE_FILE.read_text())


def local_secrets() -> dict[str, str]:
    """The local deployment's Fernet key and JWT secret: generated once, kept in .local
    (mode 600), never in the repository."""
    path = cfg.STATE_DIR / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    from cryptography.fernet import Fernet

    values = {
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh)
    return values


def compose_variables() -> dict[str, str]:
    """The values the local stack gives docker-compose.yaml's variables."""
    return {
        "POSTGRES_USER": cfg.PG_USER,
        "POSTGRES_PASSWORD": cfg.PG_PASSWORD,
        "POSTGRES_HOST": cfg.HOST,
        "POSTGRES_PORT": str(cfg.PG_PORT),
        "POSTGRES_DB": "airflow",
        "REDIS_HOST": cfg.HOST,
        "REDIS_PORT": str(cfg.REDIS_PORT),
        "AIRFLOW_API_HOST": cfg.HOST,
        "AIRFLOW_API_PORT": str(cfg.AIRFLOW_PORT),
        "AIRFLOW_ADMIN_USER": ADMIN_USER,
        **local_secrets(),
    }


# Settings that are about where things live on this machine, not how Airflow behaves:
# the local stack sets them itself, whatever the compose file says. The compose file's
# connections (AIRFLOW_CONN_*: its pipeline role, its S3 service) are the deployment's;
# the local stack has its own (local/config.py).
LOCAL_PATH_SETTINGS = ("PYTHONPATH",)
# Settings only the scheduler's components get: `make env` (and so `make run`'s dag.test(),
# which runs tasks one at a time with no triggerer) leaves them out.
SCHEDULER_ONLY_SETTINGS = ("ELT_DBT_DEFERRABLE",)
CONNECTION_PREFIX = "AIRFLOW_CONN_"


def airflow_settings() -> dict[str, str]:
    """docker-compose.yaml's `x-airflow-common` environment, with the local values."""
    env = compose()["x-airflow-common"]["environment"]
    variables = compose_variables()
    return {
        key: substitute(str(value), variables)
        for key, value in env.items()
        if key not in LOCAL_PATH_SETTINGS + SCHEDULER_ONLY_SETTINGS
        and not key.startswith(CONNECTION_PREFIX)
    }


@dataclass(frozen=True)
class Component:
    """One long-running process of the topology."""

    name: str
    argv: tuple[str, ...]
    port: int | None = None  # ready once this port answers; None: ready while alive
    env: dict[str, str] = field(default_factory=dict)


def scheduler_only_settings() -> dict[str, str]:
    env = compose()["x-airflow-common"]["environment"]
    return {k: str(env[k]) for k in SCHEDULER_ONLY_SETTINGS if k in env}


def airflow_components() -> list[Component]:
    """The Airflow processes of `make up`; each gets the scheduler-only settings too."""
    airflow = str(Path(sys.executable).parent / "airflow")
    components = [
        Component(
            "api-server",
            (airflow, "api-server", "--host", cfg.HOST, "--port", str(cfg.AIRFLOW_PORT)),
            cfg.AIRFLOW_PORT,
        ),
        Component(
            "scheduler",
            (airflow, "scheduler"),
            SCHEDULER_HEALTH_PORT,
            {
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": cfg.HOST,
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(
                    SCHEDULER_HEALTH_PORT
                ),
            },
        ),
        Component("dag-processor", (airflow, "dag-processor")),
        Component(
            "triggerer",
            (airflow, "triggerer"),
            TRIGGERER_LOG_PORT,
            {"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(TRIGGERER_LOG_PORT)},
        ),
    ]
    extra = scheduler_only_settings()
    components = [Component(c.name, c.argv, c.port, {**extra, **c.env}) for c in components]
    for name in WORKERS:
        components.append(
            Component(
                name,
                (
                    airflow,
                    "celery",
                    "worker",
                    "--celery-hostname",
                    name,
                    "--concurrency",
                    str(WORKER_CONCURRENCY),
                ),
                WORKER_LOG_PORTS[name],
                {
                    **extra,
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(WORKER_LOG_PORTS[name]),
                    # Task instances record which worker ran them (TaskInstance.hostname).
                    "ELT_WORKER_NAME": name,
                },
            )
        )
    return components


def redis_component() -> Component:
    data = cfg.STATE_DIR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    return Component(
        "redis",
        (
            "redis-server",
            "--bind",
            cfg.HOST,
            "--port",
            str(cfg.REDIS_PORT),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--protected-mode",
            "yes",
        ),
        cfg.REDIS_PORT,
    )


def process_names() -> list[str]:
    """Every process `make status` reports, in start order."""
    names = [n for counterparts in COMPOSE_COUNTERPARTS.values() for n in counterparts]
    return names[:3] + ["sources", "slack-sink"] + names[3:] + ["bigquery", "gcs"]
