"""docker-compose.yaml validates offline, the Dockerfile installs exactly requirements.txt
on the official image of the pinned Airflow version, and .env.example lists every variable."""

import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONN_IDS = [
    "census_api",
    "states_page",
    "yelp_api",
    "amplitude_api",
    "source_db",
    "lake_s3",
    "warehouse_db",
    "google_cloud_default",
    "slack_alerts",
]


def test_compose_file_validates_offline(tmp_path):
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose missing: `make test` installs it (apt docker-compose)"
    shutil.copy(ROOT / "docker-compose.yaml", tmp_path)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    out = subprocess.run([exe, "config", "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    services = set(yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"])
    assert {
        "postgres",
        "redis",
        "s3",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    } <= services


def test_dockerfile_matches_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = re.search(
        r"^apache-airflow==([\d.]+)$", (ROOT / "requirements.txt").read_text(), re.M
    ).group(1)
    image = re.search(r"^FROM apache/airflow:([\d.]+)", dockerfile, re.M)
    assert image and image.group(1) == pinned
    installs = re.findall(r"pip install[^\n]*", dockerfile)
    assert installs == ["pip install --no-cache-dir -r /opt/airflow/requirements.txt"]
    assert "COPY --chown=airflow:root requirements.txt /opt/airflow/requirements.txt" in dockerfile
    # The CeleryExecutor's provider is pinned in what the image installs (make lock).
    assert re.search(
        r"^apache-airflow-providers-celery==", (ROOT / "requirements.txt").read_text(), re.M
    ), "pyproject.toml lists apache-airflow-providers-celery: run `make lock`"
    # What runs in a container, and nothing else of the repository.
    copied = re.findall(r"^COPY --chown=airflow:root (\S+) ", dockerfile, re.M)
    assert set(copied) == {
        "requirements.txt",
        "dags/",
        "plugins/",
        "include/",
        "dbt_project/",
        "deploy/",
    }, copied


def test_env_example_lists_every_connection_and_setting():
    names = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    # A connection to a compose service is set in x-airflow-common (from .env variables);
    # the others come from .env.
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    in_compose = set(compose["x-airflow-common"]["environment"])
    assert {f"AIRFLOW_CONN_{c.upper()}" for c in CONN_IDS} <= names | in_compose
    assert {"AIRFLOW_CONN_SOURCE_DB", "AIRFLOW_CONN_WAREHOUSE_DB", "AIRFLOW_CONN_LAKE_S3"} <= (
        in_compose
    )
    # A compose value that is the .env variable itself (`KEY: ${KEY}`) passes it through.
    env = compose["x-airflow-common"]["environment"]
    both = {k for k in names & in_compose if str(env[k]) != "${" + k + "}"}
    assert not both, "set in both: the compose value would win silently"
    compose_vars = set(re.findall(r"\$\{([A-Z0-9_]+)", (ROOT / "docker-compose.yaml").read_text()))
    assert compose_vars <= names, compose_vars - names
    assert "WAREHOUSE" in names


def test_the_image_holds_no_laptop_stack_test_tools_or_secrets():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".local/", "local/", "tests/", "benchmarks/"} <= ignored
    prod = {
        re.match(r"[a-z0-9_.\-]+", line).group(0)
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if re.match(r"[a-z0-9]", line)
    }
    assert not prod & {"moto", "pytest", "pytest-timeout", "ruff", "sqlfluff", "playwright"}, prod
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert re.search(r"^moto==", dev, re.M) and re.search(r"^pytest==", dev, re.M)
    # What a worker imports never reaches for the laptop stack or a test tool.
    for path in list((ROOT / "include").rglob("*.py")) + list((ROOT / "dags").rglob("*.py")):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import) (local|tests|moto|pytest)\b", text, re.M), path
