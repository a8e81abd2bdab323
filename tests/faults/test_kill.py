"""kill -9 of a load at each step, then the rerun: the data equals an uninterrupted run's,
nothing is duplicated and no work table is left behind.

Each step is frozen from outside: this test holds a PostgreSQL lock the step needs, waits
until the child's session is seen waiting on it (pg_stat_activity), kills the child with
SIGKILL and terminates its database sessions (as the server does when a crashed client's
socket closes), then releases the lock. Everything is verified with SQL and the S3 listing,
not with the code under test.
"""

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from include.connections import pg_connect

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _child(code: str, app: str) -> subprocess.Popen:
    env = {**os.environ, "PGAPPNAME": app, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _kill_when_blocked(proc: subprocess.Popen, app: str, conn_id: str, timeout: float = 180):
    """SIGKILL `proc` once one of its sessions waits on a lock; terminate its sessions."""
    deadline = time.monotonic() + timeout
    with pg_connect(conn_id, autocommit=True) as watch:
        while True:
            waiting = watch.execute(
                "select query from pg_stat_activity where application_name = %s "
                "and wait_event_type = 'Lock'",
                (app,),
            ).fetchall()
            if waiting:
                break
            if proc.poll() is not None:
                pytest.fail(f"the child ended before it blocked: {proc.stdout.read().decode()}")
            assert time.monotonic() < deadline, "the child never reached the frozen step"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        for db in ("source_db", "warehouse_db"):
            with pg_connect(db, autocommit=True) as conn:
                conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where application_name = %s",
                    (app,),
                )
    return waiting[0][0]


def _killed_at(code: str, conn_id: str, lock: str) -> str:
    """Run `code` in a child, freeze it on `lock` (held in `conn_id`), kill it there."""
    app = f"killed-{uuid.uuid4().hex[:8]}"
    with pg_connect(conn_id) as holder:
        holder.execute(lock)
        proc = _child(code, app)
        query = _kill_when_blocked(proc, app, conn_id)
        holder.rollback()  # release the lock only after the child is gone
    return query


def _run(code: str) -> None:
    proc = _child(code, f"rerun-{uuid.uuid4().hex[:8]}")
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out.decode()


def _fingerprint(conn_id: str, queries: dict[str, str], params=()) -> dict:
    with pg_connect(conn_id) as conn:
        return {name: conn.execute(q, params).fetchone() for name, q in queries.items()}


def _rows_md5(table: str, where: str, drop: tuple[str, ...]) -> str:
    row = "(to_jsonb(t) " + "".join(f"- '{c}' " for c in drop) + ")::text"
    return (
        f"select count(*), md5(coalesce(string_agg({row}, ',' order by {row}), '')) "
        f"from {table} t where {where}"
    )


def _work_tables(conn_id: str) -> list:
    with pg_connect(conn_id) as conn:
        return conn.execute(
            "select relname from pg_class where relname like '%%\\_load' and relkind = 'r'"
        ).fetchall()


CENSUS = """
from datetime import date
from include.quality import RunContext
from include.sources.census import ingest_day
d = date.fromisoformat("{day}")
ingest_day(d, RunContext("{run}", "census_population", "extract_land_check_normalize", d))
"""
AMPLITUDE = """
from datetime import date
from include.quality import RunContext
from include.sources.amplitude import ingest_day
d = date.fromisoformat("{day}")
ingest_day(d, RunContext("{run}", "amplitude_events", "export_archive_load", d))
"""
EXPORT = """
from datetime import date
from include.lake.export import export_day
export_day(date.fromisoformat("{day}"))
"""
LOAD = """
from datetime import date
from include.warehouse import load_days
load_days([date.fromisoformat("{day}")])
"""


def test_raw_landing_killed_then_rerun_equals_one_run():
    day = date(2035, 1, 1)
    census = {
        "raw": _rows_md5(
            "raw.census_county_population", "logical_date = %s", ("batch_id", "loaded_at")
        ),
        "batches": "select count(*) from raw.batches where source = 'census' and logical_date = %s",
    }
    _run(CENSUS.format(day=day, run="ref"))
    reference = _fingerprint("source_db", census, (day,))
    query = _killed_at(
        CENSUS.format(day=day, run="killed"),
        "source_db",
        "lock table raw.census_county_population in access exclusive mode",
    )
    assert "raw." in query  # frozen inside the landing transaction
    assert _fingerprint("source_db", census, (day,)) == reference  # the old batch, whole
    _run(CENSUS.format(day=day, run="rerun"))
    assert _fingerprint("source_db", census, (day,)) == reference
    assert reference["batches"] == (1,)


@pytest.mark.parametrize(
    "lock, expected_step",
    [
        ("lock table raw.amplitude_event in access exclusive mode", "amplitude_event"),
        (
            # ACCESS SHARE lets the load take its SHARE ROW EXCLUSIVE turn, build the day's
            # work table and stops it at the DETACH of the day's old partition.
            "lock table raw.amplitude_event_property in access share mode",
            "detach partition",
        ),
    ],
    ids=["after_copy", "at_partition_swap"],
)
def test_amplitude_load_killed_then_rerun_equals_one_run(lock, expected_step):
    day = date(2035, 2, 1)
    amplitude = {
        "events": _rows_md5("raw.amplitude_event", "export_day = %s", ("loaded_at",)),
        "properties": _rows_md5("raw.amplitude_event_property", "export_day = %s", ()),
        "quarantine": "select count(*) from raw.amplitude_quarantine where export_day = %s",
    }
    _run(AMPLITUDE.format(day=day, run="ref"))
    reference = _fingerprint("source_db", amplitude, (day,))
    assert reference["events"][0] > 0
    query = _killed_at(AMPLITUDE.format(day=day, run="killed"), "source_db", lock)
    assert expected_step in query
    assert _fingerprint("source_db", amplitude, (day,)) == reference
    _run(AMPLITUDE.format(day=day, run="rerun"))
    assert _fingerprint("source_db", amplitude, (day,)) == reference
    assert _work_tables("source_db") == []  # no partition left half-swapped


def test_lake_upload_killed_before_its_watermark_then_rerun_equals_one_run():
    from include.lake import lake_location, object_key

    day = date(2035, 3, 1)
    s3, bucket, prefix = lake_location()
    _run(CENSUS.format(day=day, run="ref"))

    def lake_state():
        with pg_connect("source_db") as conn:
            exports = dict(
                conn.execute(
                    "select table_name, row_count from lake.exports where day = %s "
                    "and target = 'postgres'",
                    (day,),
                ).fetchall()
            )
        files = {}
        for table in exports:
            body = s3.get_object(Bucket=bucket, Key=object_key(prefix, table, day, "postgres"))
            files[table] = pq.read_table(io.BytesIO(body["Body"].read())).num_rows
        return exports, files

    _run(EXPORT.format(day=day))
    reference = lake_state()
    assert reference[0] == reference[1]  # each file holds the rows its row says
    # SHARE lets the export read its lower bounds and upload, and stops its insert.
    query = _killed_at(EXPORT.format(day=day), "source_db", "lock table lake.exports in share mode")
    assert "lake.exports" in query
    _run(EXPORT.format(day=day))
    assert lake_state() == reference


def test_staging_load_killed_between_tables_then_rerun_equals_one_run():
    from include.lake import TABLES

    day = date(2035, 4, 1)
    _run(CENSUS.format(day=day, run="ref"))
    _run(EXPORT.format(day=day))
    _run(LOAD.format(day=day))
    staged = {
        t.name: _rows_md5(f"staging.{t.name}", "_lake_day = %s", ("_loaded_at",)) for t in TABLES
    }
    reference = _fingerprint("warehouse_db", staged, (day,))
    fifth = TABLES[4].name
    query = _killed_at(
        LOAD.format(day=day), "warehouse_db", f"lock table staging.{fifth} in access exclusive mode"
    )
    assert fifth in query
    assert _fingerprint("warehouse_db", staged, (day,)) == reference  # no table half-new
    _run(LOAD.format(day=day))
    assert _fingerprint("warehouse_db", staged, (day,)) == reference
