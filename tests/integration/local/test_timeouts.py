"""Every wait is bounded: PostgreSQL sessions carry a statement and lock timeout, and a
BigQuery/GCS endpoint that is down fails within a minute, naming the endpoint (it hung
for more than six minutes)."""

import time
from datetime import date

import pytest

from include.connections import pg_connect

pytestmark = pytest.mark.integration


def test_postgres_sessions_have_statement_and_lock_timeouts():
    with pg_connect("source_db") as conn:
        statement = conn.execute("show statement_timeout").fetchone()[0]
        lock = conn.execute("show lock_timeout").fetchone()[0]
    assert statement not in ("0", "0ms") and lock not in ("0", "0ms"), (statement, lock)


def test_a_lock_wait_fails_instead_of_hanging(monkeypatch):
    import psycopg

    monkeypatch.setenv("ELT_PG_LOCK_TIMEOUT_SECONDS", "1")
    with pg_connect("source_db") as holder, pg_connect("source_db") as waiter:
        holder.execute("create temp table if not exists t (x int)")
        holder.execute("lock table raw.batches in access exclusive mode")
        start = time.monotonic()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            waiter.execute("select count(*) from raw.batches")
        assert time.monotonic() - start < 10


def test_a_down_bigquery_endpoint_fails_fast_with_its_name(monkeypatch):
    import socket

    with socket.socket() as s:  # a free port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WAREHOUSE", "bigquery")
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "elt-local")
    from include.warehouse import load_days

    start = time.monotonic()
    with pytest.raises(ConnectionError, match=rf"127\.0\.0\.1:{port}"):
        load_days([date(2030, 1, 1)])
    assert time.monotonic() - start < 60
