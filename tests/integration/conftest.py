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
def make_scratch_database(monkeypatch):
    """make(conn_id): a new, empty database on the local PostgreSQL, reachable as the
    connection `conn_id` (its AIRFLOW_CONN_<ID> set for the test, so it may stand in for
    `source_db` or `warehouse_db`), dropped afterwards."""
    import json
    import uuid

    import psycopg

    from include.connections import get_connection

    base = get_connection("warehouse_db")
    server = dict(host=base.host, port=base.port, user=base.login, password=base.password)
    made = []

    def make(conn_id: str) -> str:
        name = f"scratch_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        made.append(name)
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}",
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
        return conn_id

    yield make
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
        for name in made:
            conn.execute(f'drop database "{name}" with (force)')


@pytest.fixture
def scratch_database(make_scratch_database):
    """A new, empty database on the local PostgreSQL, as the connection id `scratch_db`."""
    return make_scratch_database("scratch_db")
