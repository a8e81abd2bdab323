"""Every endpoint comes from an Airflow connection (overridable with AIRFLOW_CONN_<ID>).

Each source builds its own client from its own connection (`include/sources/<name>/client.py`);
this package holds what they share: the connection lookup, PostgreSQL connections, the
retrying HTTP session (`include.connections.http`) and the secrets redactor
(`include.connections.secrets`).
"""

from __future__ import annotations


def get_connection(conn_id: str):
    """The Airflow connection `conn_id`, from the secrets backends (env vars first). Its
    secrets are registered with the redactor (`include.connections.secrets`) before it is
    returned: logs, alerts and stored texts never show them."""
    from airflow.sdk import BaseHook

    from include.connections.secrets import register_connection

    conn = BaseHook.get_connection(conn_id)
    register_connection(conn)
    return conn


def pg_timeouts() -> dict[str, int]:
    """Every wait on PostgreSQL is bounded (seconds; env-tunable): connecting, one
    statement, and waiting for a lock (a lock wait that long means something is stuck)."""
    import os

    return {
        "connect": int(os.environ.get("ELT_PG_CONNECT_TIMEOUT_SECONDS", "10")),
        "statement": int(os.environ.get("ELT_PG_STATEMENT_TIMEOUT_SECONDS", "3600")),
        "lock": int(os.environ.get("ELT_PG_LOCK_TIMEOUT_SECONDS", "300")),
    }


def pg_connect(conn_id: str, **kwargs):
    """A psycopg 3 connection for a postgres-type Airflow connection, with a connect,
    statement and lock timeout (`pg_timeouts`)."""
    import psycopg

    conn = get_connection(conn_id)
    limits = pg_timeouts()
    options = f"-c statement_timeout={limits['statement']}s -c lock_timeout={limits['lock']}s"
    return psycopg.connect(
        host=conn.host,
        port=conn.port or 5432,
        user=conn.login,
        password=conn.password,
        dbname=conn.schema,
        connect_timeout=limits["connect"],
        options=options,
        **kwargs,
    )
