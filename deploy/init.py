"""The compose stack's bootstrap: what the `airflow-init` service runs once before Airflow starts.

    python -m deploy.init check   # only validate the secrets in the environment (.env)
    python -m deploy.init         # validate, then databases and roles, the lake bucket,
                                  # `airflow db migrate` and the source migrations

Every step is idempotent (a second `docker compose up` changes nothing):

1. **Secrets.** It refuses to go on while a secret is empty, still the `change-me` of
   `.env.example`, too short, or (passwords, which the compose file writes into connection
   URLs and JSON unescaped) holds characters that would need escaping; the Fernet key must
   be a real Fernet key. The message says how to generate each.
2. **PostgreSQL**, as the metadata superuser (`POSTGRES_USER`, which only Airflow's own
   components use): `sql/roles.sql` creates the pipeline's roles (`elt_pipeline`: writes
   the source and warehouse databases, is no superuser and creates no database or role;
   `elt_analyst`: reads the warehouse marts), `sql/metadata.sql` closes Airflow's metadata
   database to them, and each `sql/databases/<name>.sql` is run in database `<name>`,
   created first if missing.
3. **The lake bucket** named by the `lake_s3` connection's `lake_uri`, on its `endpoint_url`,
   created with the S3 service's admin key (`ELT_S3_ADMIN_ACCESS_KEY`); the pipeline's own
   key (the connection's) can only read, write and list that bucket.
4. `airflow db migrate`, then the source migrations (`include.migrations`) through the
   `source_db` connection, i.e. as `elt_pipeline`, which therefore owns every schema and
   table they create.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

SQL_DIR = Path(__file__).parent / "sql"
DATABASES_DIR = SQL_DIR / "databases"
# The pipeline's databases: one file each, run inside it.
DATABASES = tuple(sorted(p.stem for p in DATABASES_DIR.glob("*.sql")))
METADATA_DATABASE_DEFAULT = "airflow"  # POSTGRES_DB's default in docker-compose.yaml

PLACEHOLDER = "change-me"
GEN_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
GEN_FERNET = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
# Characters a password may hold: the compose file writes it unescaped into connection
# URLs and JSON (what token_urlsafe produces, plus '.' and '~').
SAFE = re.compile(r"^[A-Za-z0-9._~-]+$")

# name -> (minimum length, whether it goes into a URL/JSON unescaped)
SECRETS = {
    "POSTGRES_PASSWORD": (16, True),
    "ELT_PIPELINE_PASSWORD": (16, True),
    "ELT_ANALYST_PASSWORD": (16, True),
    "ELT_S3_ADMIN_SECRET_KEY": (16, True),
    "ELT_S3_PIPELINE_SECRET_KEY": (16, True),
    "AIRFLOW__API__SECRET_KEY": (32, False),
    "AIRFLOW__API_AUTH__JWT_SECRET": (32, False),
}
# Not secrets, but written into URLs/JSON too: no placeholder, nothing to escape.
NAMES = ("ELT_S3_ADMIN_ACCESS_KEY", "ELT_S3_PIPELINE_ACCESS_KEY")


class InitError(SystemExit):
    """The bootstrap cannot go on; the message says what to fix."""


def secret_problems(env: dict[str, str]) -> list[str]:
    """Every problem with the secrets in `env`, each with how to fix it (empty: all good)."""
    problems = []
    for name, (min_len, unescaped) in SECRETS.items():
        value = env.get(name, "")
        if not value:
            problems.append(f"{name} is empty: set it in .env; generate one with: {GEN_TOKEN}")
        elif PLACEHOLDER in value.lower():
            problems.append(
                f"{name} is still the placeholder '{PLACEHOLDER}' of .env.example: set a real "
                f"value in .env; generate one with: {GEN_TOKEN}"
            )
        elif len(value) < min_len:
            problems.append(
                f"{name} is shorter than {min_len} characters; generate one with: {GEN_TOKEN}"
            )
        elif unescaped and not SAFE.match(value):
            problems.append(
                f"{name} holds characters outside A-Z a-z 0-9 . _ ~ - (it is written into "
                f"connection URLs and JSON unescaped); generate one with: {GEN_TOKEN}"
            )
    for name in NAMES:
        value = env.get(name, "")
        if not value or PLACEHOLDER in value.lower() or not SAFE.match(value):
            problems.append(
                f"{name} must be set in .env (letters, digits, . _ ~ -), not '{PLACEHOLDER}'"
            )
    fernet = env.get("AIRFLOW__CORE__FERNET_KEY", "")
    if not fernet or PLACEHOLDER in fernet.lower():
        problems.append(
            "AIRFLOW__CORE__FERNET_KEY is empty: without it Airflow stores connection "
            f"passwords and variables unencrypted; generate one with: {GEN_FERNET}"
        )
    else:
        from cryptography.fernet import Fernet

        try:
            Fernet(fernet.encode())
        except ValueError:
            problems.append(
                "AIRFLOW__CORE__FERNET_KEY is not a Fernet key (32 url-safe base64-encoded "
                f"bytes); generate one with: {GEN_FERNET}"
            )
    return problems


def check_secrets(env: dict[str, str] | None = None) -> None:
    problems = secret_problems(dict(os.environ if env is None else env))
    if problems:
        raise InitError(
            "deploy/init: refusing to start the stack with these secrets "
            "(.env, copied from .env.example):\n  - " + "\n  - ".join(problems)
        )


# --- PostgreSQL -----------------------------------------------------------------------


def _scram(conn, password: str, role: str) -> str:
    """The SCRAM-SHA-256 verifier of `password`, computed by libpq on the client side."""
    return conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()


def _connect(admin: dict, dbname: str):
    import psycopg

    deadline = time.monotonic() + float(admin.get("wait_seconds", 60))
    while True:
        try:
            return psycopg.connect(
                **{k: v for k, v in admin.items() if k != "wait_seconds"},
                dbname=dbname,
                autocommit=True,
                connect_timeout=5,
            )
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def setup_postgres(admin: dict, metadata_db: str, pipeline_password: str, analyst_password: str):
    """Roles, the metadata database's lock-out, and every pipeline database with its grants.
    `admin`: psycopg connection keywords of the superuser (host, port, user, password)."""
    from psycopg import ClientCursor

    with _connect(admin, metadata_db) as conn:
        cur = ClientCursor(conn)  # client-side binding: ALTER ROLE takes no server parameters
        cur.execute(
            (SQL_DIR / "roles.sql").read_text(),
            {
                "pipeline_password": _scram(conn, pipeline_password, "elt_pipeline"),
                "analyst_password": _scram(conn, analyst_password, "elt_analyst"),
            },
        )
        conn.execute((SQL_DIR / "metadata.sql").read_text())
        existing = {r[0] for r in conn.execute("select datname from pg_catalog.pg_database")}
        for name in DATABASES:
            if name not in existing:
                from psycopg import sql

                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
                print(f"  database {name} created")
    for name in DATABASES:
        with _connect(admin, name) as conn:
            conn.execute((DATABASES_DIR / f"{name}.sql").read_text())
    print(f"  roles elt_pipeline, elt_analyst; databases {', '.join(DATABASES)}: granted")


# --- S3 ---------------------------------------------------------------------------------


def lake_bucket_of(conn_extra: dict) -> str:
    """The bucket of the lake_s3 connection's `lake_uri` (s3://bucket/prefix)."""
    uri = urlparse(conn_extra["lake_uri"])
    if uri.scheme != "s3" or not uri.netloc:
        raise InitError(f"lake_s3: lake_uri {conn_extra['lake_uri']!r} is not s3://bucket/prefix")
    return uri.netloc


def ensure_bucket(
    endpoint_url: str | None,
    access_key: str,
    secret_key: str,
    bucket: str,
    region: str = "us-east-1",
    wait_seconds: float = 120,
) -> bool:
    """Create `bucket` unless it exists; True if it was created. Waits for the service."""
    import boto3
    from botocore.exceptions import ClientError, EndpointConnectionError

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
    )
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            s3.head_bucket(Bucket=bucket)
            return False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            s3.create_bucket(Bucket=bucket)
            return True
        except EndpointConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def setup_lake(env: dict[str, str]) -> None:
    from include.connections import get_connection

    conn = get_connection("lake_s3")
    extra = conn.extra_dejson
    bucket = lake_bucket_of(extra)
    created = ensure_bucket(
        extra.get("endpoint_url"),
        env["ELT_S3_ADMIN_ACCESS_KEY"],
        env["ELT_S3_ADMIN_SECRET_KEY"],
        bucket,
        region=extra.get("region_name", "us-east-1"),
    )
    print(f"  lake bucket {bucket}: {'created' if created else 'exists'}")


# --- the whole bootstrap ---------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ)
    check_secrets(env)
    print("deploy/init: secrets pass")
    if args[:1] == ["check"]:
        return 0
    setup_postgres(
        {
            "host": env.get("POSTGRES_HOST", "postgres"),
            "port": int(env.get("POSTGRES_PORT", "5432")),
            "user": env.get("POSTGRES_USER", "airflow"),
            "password": env["POSTGRES_PASSWORD"],
        },
        env.get("POSTGRES_DB", METADATA_DATABASE_DEFAULT),
        env["ELT_PIPELINE_PASSWORD"],
        env["ELT_ANALYST_PASSWORD"],
    )
    setup_lake(env)
    # The airflow CLI of this interpreter (the image's, or a venv not on PATH).
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True)
    from include.migrations import migrate

    print(f"  source_db migrations applied: {migrate() or 'none pending'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
