"""What every integration test shares: the local stack (tests/conftest.py), and on request
a fault-free local source server or a scratch database."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _local_stack(local_stack):
    """Every integration test needs the local stack."""


@pytest.fixture
def reset_faults():
    """The local source server without faults before and after the test."""
    from tests.helpers import control

    control({})
    yield
    control({})


@pytest.fixture
def scratch_database(monkeypatch):
    """A new, empty database on the local PostgreSQL, reachable as the connection id
    `scratch_db` (an `AIRFLOW_CONN_SCRATCH_DB` for the test), dropped afterwards."""
    import json
    import uuid

    from include.connections import get_connection, pg_connect

    name = f"scratch_{uuid.uuid4().hex[:12]}"
    with pg_connect("warehouse_db", autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    base = get_connection("warehouse_db")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SCRATCH_DB",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": base.host,
                "port": base.port,
                "login": base.login,
                "password": base.password,
                "schema": name,
            }
        ),
    )
    yield "scratch_db"
    with pg_connect("warehouse_db", autocommit=True) as conn:
        conn.execute(f'drop database "{name}" with (force)')
