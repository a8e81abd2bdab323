"""PostgreSQL stopped with `pg_ctl stop -m immediate` (a crash: no checkpoint, every
session cut) in the middle of a Yelp paging run, restarted, then the day rerun: the run
fails at once and alerts, and the rerun leaves exactly what one uninterrupted run leaves.

The stop lands mid-run deterministically: the local Yelp stand-in answers the first
`PAGES` calls and holds the next one (`yelp_hold_after`); while it is held this test locks
`raw.yelp_search`, releases the call, and stops PostgreSQL once the child's page
transaction is seen waiting on that lock (pg_stat_activity): the crash cuts an open page
transaction, after pages that committed. Everything is verified with SQL fingerprints, the
stand-in's counters and the Slack sink's record, not with the code under test.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pytest

from include.connections import pg_connect
from tests.helpers import (
    YELP_TABLES,
    control,
    request_counts,
    reset_yelp,
    rows_md5,
    slack_reset,
    slack_texts,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DAY = date(2034, 6, 1)
PAGES = 60  # search calls answered before the stop (the day makes ~260 searches)
RUN = """
import sys
from datetime import date
from tests.helpers import run_task
from include.sources.yelp import ingest_day
d = date.fromisoformat("{day}")
out = run_task("yelp_businesses", "fetch_land_check_normalize", d, "{run}",
               lambda ctx: ingest_day(d, ctx))
if isinstance(out, Exception):
    print(f"TASK FAILED: {{type(out).__name__}}: {{out}}", flush=True)
    sys.exit(1)
"""
# Every Yelp table of the day, without load clocks (loaded_at, updated_at).
FINGERPRINT = {
    **{f"oltp.{t}": ("true", ("updated_at",)) for t in YELP_TABLES},
    "raw.yelp_search": ("logical_date = %(d)s", ("loaded_at",)),
    "raw.yelp_review": ("logical_date = %(d)s", ("loaded_at",)),
    "raw.yelp_quarantine": ("logical_date = %(d)s", ("loaded_at",)),
    "raw.yelp_business_move": ("true", ("loaded_at",)),
    "yelp.progress": ("logical_date = %(d)s", ("updated_at",)),
    "raw.landed_days": ("source = 'yelp' and day = %(d)s", ("landed_at",)),
}


def _fingerprint() -> dict:
    with pg_connect("source_db") as conn:
        return {t: rows_md5(conn, t, w, {"d": DAY}, drop) for t, (w, drop) in FINGERPRINT.items()}


def _child(run: str, app: str, log: Path) -> subprocess.Popen:
    """The Yelp task for DAY in a child; its output goes to `log` (a pipe nobody reads
    would stall it: the client logs every call)."""
    env = {**os.environ, "PGAPPNAME": app, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", RUN.format(day=DAY, run=run)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _run(run: str, log: Path) -> None:
    proc = _child(run, f"yelp-{uuid.uuid4().hex[:8]}", log)
    proc.wait(timeout=300)
    assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]


def _pg_port_open() -> bool:
    from local import config

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((config.HOST, config.PG_PORT)) == 0


def _pg_stop_immediate() -> None:
    from local import services

    pg_ctl = str(services._pg_bindir() / "pg_ctl")
    subprocess.run(
        services._as_pg_owner([pg_ctl, "-D", str(services.PG_DATA), "-m", "immediate", "stop"]),
        check=True,
        capture_output=True,
        timeout=60,
    )


def _pg_start() -> None:
    from local import services

    services._pg_up()  # crash recovery, then listening again (pg_ctl -w, bounded)


def _wait(what: str, predicate, timeout: float, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: {log.read_text(errors='replace')[-3000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


@pytest.fixture(autouse=True)
def _clean():
    control({})
    reset_yelp()
    slack_reset()
    yield
    control({})
    if not _pg_port_open():
        _pg_start()  # never leave the stack without its database
    reset_yelp()


def test_postgres_crash_mid_yelp_paging_then_rerun_equals_one_run(tmp_path):
    _run(f"test-pgcrash-ref-{uuid.uuid4()}", tmp_path / "reference.log")
    reference = _fingerprint()
    assert reference["yelp.progress"][0] > 0 and reference["raw.yelp_search"][0] > PAGES

    reset_yelp()
    run = f"test-pgcrash-{uuid.uuid4()}"
    app = f"pgcrash-{uuid.uuid4().hex[:8]}"
    control({"yelp_hold_after": PAGES})
    log = tmp_path / "crashed.log"
    proc = _child(run, app, log)
    try:
        _wait("the held Yelp call", lambda: request_counts().get("yelp_held"), 120, proc, log)
        holder = pg_connect("source_db")
        holder.execute("lock table raw.yelp_search in access exclusive mode")
        control({})  # release the held call: its page now waits on the lock, in its transaction

        def blocked():
            with pg_connect("source_db", autocommit=True) as watch:
                return watch.execute(
                    "select query from pg_stat_activity where application_name = %s "
                    "and wait_event_type = 'Lock'",
                    (app,),
                ).fetchall()

        (query,) = _wait("the page transaction to block", blocked, 60, proc, log)[0]
        assert "raw.yelp_search" in query
        stopped_at = time.monotonic()
        _pg_stop_immediate()
        with contextlib.suppress(Exception):
            holder.close()
        proc.wait(timeout=120)
        failed_after = time.monotonic() - stopped_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if not _pg_port_open():
            _pg_start()
    out = log.read_text(errors="replace")

    # The run failed at once and clearly, and said so in Slack with the outbox down.
    assert proc.returncode == 1, out[-3000:]
    assert "TASK FAILED: OperationalError" in out, out[-3000:]
    assert failed_after < 30, f"the run took {failed_after:.0f} s to fail"
    alerts = [t for t in slack_texts() if run in t]
    assert len(alerts) == 1 and "fetch_land_check_normalize" in alerts[0], slack_texts()
    assert "OperationalError" in alerts[0], alerts[0]

    # The stop was mid-run: some pages committed, the day's queue is not done.
    with pg_connect("source_db") as conn:
        landed = conn.execute(
            "select count(*) from raw.yelp_search where logical_date = %s", (DAY,)
        ).fetchone()[0]
        pending = conn.execute(
            "select count(*) from yelp.progress where logical_date = %s and status = 'pending'",
            (DAY,),
        ).fetchone()[0]
        normalized = conn.execute("select count(*) from oltp.business").fetchone()[0]
    assert 0 < landed < reference["raw.yelp_search"][0], landed
    assert pending > 0 and normalized == 0, (pending, normalized)

    _run(f"test-pgcrash-rerun-{uuid.uuid4()}", tmp_path / "rerun.log")
    assert _fingerprint() == reference
