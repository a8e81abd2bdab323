"""Ports, paths and connection defaults of the local stack.

Everything here is a *default*: `local_env()` lets any variable already set in the
environment win, so the same commands run against real endpoints when a user
exports `AIRFLOW_CONN_*` themselves.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = Path(os.environ.get("ELT_LOCAL_DIR", PROJECT_ROOT / ".local"))
RUN_DIR = STATE_DIR / "run"
LOG_DIR = STATE_DIR / "logs"

HOST = "127.0.0.1"
PG_PORT = int(os.environ.get("ELT_PG_PORT", "54329"))
S3_PORT = int(os.environ.get("ELT_S3_PORT", "59000"))
SOURCES_PORT = int(os.environ.get("ELT_SOURCES_PORT", "58080"))
SLACK_PORT = int(os.environ.get("ELT_SLACK_PORT", "58081"))
AIRFLOW_PORT = int(os.environ.get("ELT_AIRFLOW_PORT", "8080"))
REDIS_PORT = int(os.environ.get("ELT_REDIS_PORT", "56379"))
# BigQuery and GCS emulators (started by `make emulators`, own venv in .local/emu-venv).
BQ_REST_PORT = int(os.environ.get("ELT_BQ_REST_PORT", "59050"))
BQ_GRPC_PORT = int(os.environ.get("ELT_BQ_GRPC_PORT", "59060"))
GCS_PORT = int(os.environ.get("ELT_GCS_PORT", "59023"))
EMU_VENV = STATE_DIR / "emu-venv"
GCP_PROJECT = "elt-local"
GCS_STAGING_BUCKET = "elt-staging"

# Local-only credentials for services bound to loopback. Real credentials come from
# the environment (AIRFLOW_CONN_*) and are never written to the repository.
PG_USER = "elt"
PG_PASSWORD = "elt-local"
PG_DATABASES = ("airflow", "source", "warehouse")
LAKE_BUCKET = "elt-lake"
LAKE_PREFIX = "lake"
S3_ACCESS_KEY = "local-access-key"
S3_SECRET_KEY = "local-secret-key"
CENSUS_LOCAL_KEY = "local-census-key"
YELP_LOCAL_KEY = "local-yelp-key"
AMPLITUDE_LOCAL_KEY = "local-amplitude-key"
AMPLITUDE_LOCAL_SECRET = "local-amplitude-secret"
SLACK_LOCAL_TOKEN = "TLOCAL/BLOCAL/local-sink"  # the path part of a webhook URL


def _pg_conn(database: str) -> str:
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": HOST,
            "port": PG_PORT,
            "login": PG_USER,
            "password": PG_PASSWORD,
            "schema": database,
        }
    )


def default_connections() -> dict[str, str]:
    """The `AIRFLOW_CONN_*` values of the local stack, in Airflow's JSON form."""
    sources = f"http://{HOST}:{SOURCES_PORT}"
    return {
        "AIRFLOW_CONN_CENSUS_API": json.dumps(
            {"conn_type": "http", "host": sources, "password": CENSUS_LOCAL_KEY}
        ),
        "AIRFLOW_CONN_YELP_API": json.dumps(
            {"conn_type": "http", "host": sources, "password": YELP_LOCAL_KEY}
        ),
        "AIRFLOW_CONN_AMPLITUDE_API": json.dumps(
            {
                "conn_type": "http",
                "host": sources,
                "login": AMPLITUDE_LOCAL_KEY,
                "password": AMPLITUDE_LOCAL_SECRET,
            }
        ),
        "AIRFLOW_CONN_STATES_PAGE": json.dumps(
            {"conn_type": "http", "host": sources, "extra": {"path": "/us-states/"}}
        ),
        "AIRFLOW_CONN_SOURCE_DB": _pg_conn("source"),
        "AIRFLOW_CONN_WAREHOUSE_DB": _pg_conn("warehouse"),
        "AIRFLOW_CONN_LAKE_S3": json.dumps(
            {
                "conn_type": "aws",
                "login": S3_ACCESS_KEY,
                "password": S3_SECRET_KEY,
                "extra": {
                    "endpoint_url": f"http://{HOST}:{S3_PORT}",
                    "region_name": "us-east-1",
                    "lake_uri": f"s3://{LAKE_BUCKET}/{LAKE_PREFIX}",
                },
            }
        ),
        # BigQuery/GCS: the emulators locally (see emulator_settings), production in .env.
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": json.dumps(
            {
                "conn_type": "google_cloud_platform",
                "extra": {
                    "project": GCP_PROJECT,
                    "location": "US",
                    "staging_uri": f"gs://{GCS_STAGING_BUCKET}/lake",
                },
            }
        ),
        "AIRFLOW_CONN_SLACK_ALERTS": json.dumps(
            {
                "conn_type": "slackwebhook",
                "schema": "http",
                "host": f"{HOST}:{SLACK_PORT}/services",
                "password": SLACK_LOCAL_TOKEN,
            }
        ),
    }


def default_settings() -> dict[str, str]:
    """Airflow and pipeline settings of the local stack: docker-compose.yaml's Airflow
    settings (CeleryExecutor, broker, result backend, auth) with local hosts and ports,
    plus where things live on this machine."""
    from local import topology

    airflow_home = STATE_DIR / "airflow"
    return {
        **topology.airflow_settings(),
        "AIRFLOW_HOME": str(airflow_home),
        "WAREHOUSE": "postgres",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__API__BASE_URL": f"http://{HOST}:{AIRFLOW_PORT}",
        "AIRFLOW__API__PORT": str(AIRFLOW_PORT),
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def emulator_settings() -> dict[str, str]:
    """What points the BigQuery/GCS clients (and dbt) at the local emulators."""
    return {
        "BIGQUERY_EMULATOR_HOST": f"http://{HOST}:{BQ_REST_PORT}",
        "STORAGE_EMULATOR_HOST": f"http://{HOST}:{GCS_PORT}",
        "GOOGLE_CLOUD_PROJECT": GCP_PROJECT,
    }


def local_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Every variable the local stack uses, as in force: the environment's values win.
    With WAREHOUSE=bigquery it adds the emulator settings (unless already set)."""
    environ = dict(os.environ if environ is None else environ)
    merged = {**default_connections(), **default_settings()}
    if environ.get("WAREHOUSE", "").lower() == "bigquery":
        merged.update(emulator_settings())
    for key in merged:
        if environ.get(key):
            merged[key] = environ[key]
    root = str(PROJECT_ROOT)
    if root not in merged["PYTHONPATH"].split(os.pathsep):
        merged["PYTHONPATH"] = os.pathsep.join([root, merged["PYTHONPATH"]])
    return merged
