"""The compose stack's bootstrap (deploy/init.py, run by the airflow-init service): it refuses
the placeholder secrets of .env.example, its databases, roles and lake bucket are the local
topology's and the compose connections', and its SQL, run for real on a scratch PostgreSQL
cluster, gives the pipeline least-privilege roles that can still run the migrations."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml

from deploy import init
from local import config as cfg

ROOT = Path(__file__).resolve().parents[2]


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            values[m[1]] = m[2]
    return values


def _run_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deploy.init", "check"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _good_secrets() -> dict[str, str]:
    from cryptography.fernet import Fernet

    good = {name: secrets.token_urlsafe(32) for name in init.SECRETS}
    good["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()
    return good


def test_init_refuses_the_env_example_secrets_and_says_how_to_generate_them():
    out = _run_check(_env_example())
    assert out.returncode != 0
    for name in ("POSTGRES_PASSWORD", "ELT_PIPELINE_PASSWORD", "AIRFLOW__API_AUTH__JWT_SECRET"):
        assert re.search(rf"{name} is still the placeholder 'change-me'", out.stderr), out.stderr
    assert "AIRFLOW__CORE__FERNET_KEY is empty" in out.stderr
    assert "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" in (
        out.stderr
    )
    assert "secrets.token_urlsafe(32)" in out.stderr
    assert "secrets pass" not in out.stdout


def test_init_refuses_a_bad_fernet_key_or_a_password_unsafe_in_a_url():
    env = {**_env_example(), **_good_secrets()}
    assert _run_check(env).returncode == 0
    out = _run_check({**env, "AIRFLOW__CORE__FERNET_KEY": "not-a-fernet-key"})
    assert out.returncode != 0 and "is not a Fernet key" in out.stderr
    out = _run_check({**env, "ELT_PIPELINE_PASSWORD": "p@ss/word:with#chars-1234"})
    assert out.returncode != 0 and "ELT_PIPELINE_PASSWORD holds characters" in out.stderr


def test_init_accepts_generated_secrets():
    out = _run_check({**_env_example(), **_good_secrets()})
    assert out.returncode == 0, out.stderr
    assert "secrets pass" in out.stdout


@pytest.fixture(scope="module")
def compose() -> dict:
    """docker-compose.yaml as docker-compose resolves it with .env.example as .env."""
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose missing: `make test` installs it (apt docker-compose)"
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(ROOT / "docker-compose.yaml", tmp)
        shutil.copy(ROOT / ".env.example", Path(tmp) / ".env")
        (Path(tmp) / "Dockerfile").write_text("FROM scratch\n")
        out = subprocess.run([exe, "config"], cwd=tmp, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def _roles_in_sql() -> set[str]:
    return set(re.findall(r"create role (\w+);", (init.SQL_DIR / "roles.sql").read_text()))


def test_init_databases_roles_and_bucket_are_the_local_topology_and_the_compose_connections(
    compose,
):
    import json

    # Databases: the metadata database plus one SQL file per pipeline database.
    assert {init.METADATA_DATABASE_DEFAULT, *init.DATABASES} == set(cfg.PG_DATABASES)
    pg_env = compose["services"]["postgres"]["environment"]
    assert pg_env["POSTGRES_DB"] == init.METADATA_DATABASE_DEFAULT
    # Roles: the pipeline's connections log in as the role roles.sql creates, never as the
    # metadata superuser (the laptop stack uses its one local user; docs/decisions.md).
    assert _roles_in_sql() == {"elt_pipeline", "elt_analyst"}
    env = compose["services"]["airflow-scheduler"]["environment"]
    for conn_id, database in (("SOURCE_DB", "source"), ("WAREHOUSE_DB", "warehouse")):
        conn = json.loads(env[f"AIRFLOW_CONN_{conn_id}"])
        assert conn["login"] == "elt_pipeline" != pg_env["POSTGRES_USER"]
        assert conn["schema"] == database and database in init.DATABASES
        assert conn["password"] == _env_example()["ELT_PIPELINE_PASSWORD"]
    # Every Airflow component and the init see the same connections.
    for name in ("airflow-init", "airflow-worker", "airflow-dag-processor"):
        assert (
            compose["services"][name]["environment"]["AIRFLOW_CONN_SOURCE_DB"]
            == (env["AIRFLOW_CONN_SOURCE_DB"])
        )
    # The bucket: the lake connection's, the S3 service's, and the local stack's.
    lake = json.loads(env["AIRFLOW_CONN_LAKE_S3"])
    assert init.lake_bucket_of(lake["extra"]) == cfg.LAKE_BUCKET
    assert compose["services"]["s3"]["environment"]["ELT_LAKE_BUCKET"] == cfg.LAKE_BUCKET
    assert lake["login"] == _env_example()["ELT_S3_PIPELINE_ACCESS_KEY"]


def test_the_lake_is_on_a_persistent_s3_service_and_init_runs_the_bootstrap(compose):
    s3 = compose["services"]["s3"]
    assert "moto" not in s3["image"] and s3["image"].startswith("chrislusf/seaweedfs:")
    # The data directory is a named volume: a restart keeps the lake and the archive.
    # (docker-compose v1 prints a volume as "source:target:mode".)
    mounts = [v.split(":") for v in s3["volumes"] if v.split(":")[1] == "/data"]
    assert mounts and mounts[0][0] in compose["volumes"]
    init_svc = compose["services"]["airflow-init"]
    assert "python -m deploy.init" in " ".join(init_svc["command"])
    for dep in ("postgres", "s3"):
        assert dep in init_svc["depends_on"]


def test_ensure_bucket_creates_once_on_the_local_s3(local_stack):
    import boto3

    endpoint = f"http://{cfg.HOST}:{cfg.S3_PORT}"
    bucket = f"init-test-{uuid.uuid4().hex[:8]}"
    try:
        assert init.ensure_bucket(endpoint, cfg.S3_ACCESS_KEY, cfg.S3_SECRET_KEY, bucket)
        assert not init.ensure_bucket(endpoint, cfg.S3_ACCESS_KEY, cfg.S3_SECRET_KEY, bucket)
    finally:
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=cfg.S3_ACCESS_KEY,
            aws_secret_access_key=cfg.S3_SECRET_KEY,
            region_name="us-east-1",
        ).delete_bucket(Bucket=bucket)


# --- the SQL on a scratch cluster ------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        pytest.fail("PostgreSQL server binaries missing: `make deps` installs them")
    return found[-1].parent


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="module")
def scratch_cluster():
    """A throwaway PostgreSQL cluster on a free loopback port, as the compose postgres
    service starts: a superuser `airflow` and its metadata database `airflow`."""
    import psycopg

    bindir = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="elt-init-pg-"))
    base.chmod(0o755)
    data, pwfile = base / "data", base / "pwfile"
    superuser, password = "airflow", secrets.token_urlsafe(24)
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run(
        _as_owner(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                superuser,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        _as_owner(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port} -c listen_addresses=127.0.0.1 -k {base}",
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    admin = {"host": "127.0.0.1", "port": port, "user": superuser, "password": password}
    try:
        with psycopg.connect(**admin, dbname="postgres", autocommit=True) as conn:
            conn.execute("create database airflow")
        yield admin
    finally:
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(base, ignore_errors=True)


def test_init_sql_gives_least_privilege_roles_that_run_the_migrations(scratch_cluster, monkeypatch):
    import json

    import psycopg
    from psycopg import errors

    pipeline_pw, analyst_pw = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    started = time.perf_counter()
    init.setup_postgres(scratch_cluster, "airflow", pipeline_pw, analyst_pw)
    init.setup_postgres(scratch_cluster, "airflow", pipeline_pw, analyst_pw)  # idempotent
    print(f"\ninit SQL twice: {time.perf_counter() - started:.2f}s")
    host, port = scratch_cluster["host"], scratch_cluster["port"]

    def connect(user, password, dbname, **kw):
        return psycopg.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            dbname=dbname,
            autocommit=True,
            **kw,
        )

    with connect(scratch_cluster["user"], scratch_cluster["password"], "airflow") as su:
        roles = {
            r[0]: r[1:]
            for r in su.execute(
                "select rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, "
                "rolbypassrls, rolcanlogin, left(rolpassword, 14) from pg_authid "
                "where rolname in ('elt_pipeline', 'elt_analyst')"
            )
        }
        assert set(roles) == _roles_in_sql()
        for flags in roles.values():
            assert flags == (False, False, False, False, False, True, "SCRAM-SHA-256$")
        databases = {r[0] for r in su.execute("select datname from pg_database")}
        assert set(init.DATABASES) <= databases

    # The migrations, as the DAGs would run them: through source_db, as elt_pipeline.
    monkeypatch.setenv(
        "AIRFLOW_CONN_SOURCE_DB",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": host,
                "port": port,
                "login": "elt_pipeline",
                "password": pipeline_pw,
                "schema": "source",
            }
        ),
    )
    from include.migrations import migrate

    assert migrate(), "no migration applied on a new source database"

    with connect("elt_pipeline", pipeline_pw, "source") as p:
        assert (
            p.execute(
                "select nspowner::regrole::text from pg_namespace where nspname = 'raw'"
            ).fetchone()[0]
            == "elt_pipeline"
        )
        p.execute(
            "insert into raw.batches (batch_id, source, logical_date, row_count) "
            "values (gen_random_uuid(), 'init-test', '2024-01-01', 0)"
        )
        p.execute("create temp table scratch (x int)")  # the loads use temp tables
        with pytest.raises(errors.InsufficientPrivilege):
            p.execute("create database not_allowed")
        with pytest.raises(errors.InsufficientPrivilege):
            p.execute("create role not_allowed")
        assert p.execute(
            "select pg_has_role('elt_pipeline', 'pg_read_all_stats', 'usage')"
        ).fetchone()[0]
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        connect("elt_pipeline", pipeline_pw, "airflow")  # Airflow's metadata: not the DAGs'
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        connect("elt_analyst", analyst_pw, "source")

    with connect("elt_pipeline", pipeline_pw, "warehouse") as p:
        p.execute("create schema if not exists staging")  # the staging load does
        p.execute("create table marts.init_test as select 1 as x")  # a dbt build does
    with connect("elt_analyst", analyst_pw, "warehouse") as a:
        assert a.execute("select x from marts.init_test").fetchone() == (1,)
        with pytest.raises(errors.InsufficientPrivilege):
            a.execute("insert into marts.init_test values (2)")
        with pytest.raises(errors.InsufficientPrivilege):
            a.execute("create table marts.mine (x int)")
        with pytest.raises(errors.InsufficientPrivilege):
            a.execute("create schema mine")
        with pytest.raises(errors.InsufficientPrivilege):
            a.execute("select 1 from staging.nothing")


def test_the_whole_bootstrap_runs_twice_on_the_scratch_cluster_and_the_local_s3(
    scratch_cluster, local_stack, tmp_path
):
    """`python -m deploy.init` as airflow-init runs it (secrets, SQL, bucket, airflow db
    migrate, source migrations), against the scratch cluster and the local S3; the second
    run changes nothing."""
    import json

    import boto3

    host, port = scratch_cluster["host"], scratch_cluster["port"]
    pipeline_pw, bucket = secrets.token_urlsafe(24), f"init-e2e-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in _env_example().items() if not k.startswith("AIRFLOW_CONN_")},
        **_good_secrets(),
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "AIRFLOW_HOME": str(tmp_path),
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": scratch_cluster["user"],
        "POSTGRES_PASSWORD": scratch_cluster["password"],
        "ELT_PIPELINE_PASSWORD": pipeline_pw,
        "ELT_S3_ADMIN_ACCESS_KEY": cfg.S3_ACCESS_KEY,
        "ELT_S3_ADMIN_SECRET_KEY": cfg.S3_SECRET_KEY,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
            f"postgresql+psycopg2://{scratch_cluster['user']}:{scratch_cluster['password']}"
            f"@{host}:{port}/airflow"
        ),
        "AIRFLOW_CONN_SOURCE_DB": json.dumps(
            {
                "conn_type": "postgres",
                "host": host,
                "port": port,
                "login": "elt_pipeline",
                "password": pipeline_pw,
                "schema": "source",
            }
        ),
        "AIRFLOW_CONN_LAKE_S3": json.dumps(
            {
                "conn_type": "aws",
                "login": "unused",
                "password": "unused",
                "extra": {
                    "endpoint_url": f"http://{cfg.HOST}:{cfg.S3_PORT}",
                    "region_name": "us-east-1",
                    "lake_uri": f"s3://{bucket}/lake",
                },
            }
        ),
    }
    outs = []
    try:
        for _ in range(2):
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "deploy.init"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert out.returncode == 0, out.stderr[-3000:]
            outs.append(out.stdout)
            print(f"\ndeploy.init: {time.perf_counter() - started:.1f}s")
    finally:
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://{cfg.HOST}:{cfg.S3_PORT}",
            region_name="us-east-1",
            aws_access_key_id=cfg.S3_ACCESS_KEY,
            aws_secret_access_key=cfg.S3_SECRET_KEY,
        )
        try:
            s3.delete_bucket(Bucket=bucket)
        except Exception:  # noqa: BLE001 - not created: the assertion above says why
            pass
    assert f"lake bucket {bucket}: created" in outs[0]
    assert f"lake bucket {bucket}: exists" in outs[1]
    assert "migrations applied: none pending" in outs[1]
