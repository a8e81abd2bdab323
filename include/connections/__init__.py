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


def pg_connect(conn_id: str, **kwargs):
    """A psycopg 3 connection for a postgres-type Airflow connection."""
    import psycopg

    conn = get_connection(conn_id)
    return psycopg.connect(
        host=conn.host,
        port=conn.port or 5432,
        user=conn.login,
        password=conn.password,
        dbname=conn.schema,
        **kwargs,
    )
