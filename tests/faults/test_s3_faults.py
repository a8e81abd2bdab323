"""S3 answering 503 SlowDown / 500 InternalError during the lake export, through a real
fault-injecting reverse proxy in front of the local S3 server (tests/faults/s3_fault_proxy.py)
that the `lake_s3` connection points at for these tests.

(a) A few transient errors are retried and the day's objects are the same as without
faults. (b) A lasting outage fails the export task clearly (naming S3, no secret), alerts
through the outbox and the Slack sink, records no watermark and leaves no object that
differs from a complete export's; the rerun after the outage gives the same objects and
staging as an uninterrupted run. Verified from outside: the S3 listing and bodies read
with a plain boto3 client on the S3 server itself, the proxy's request log, psql
fingerprints, the outbox with SQL and the sink's record.
"""

import functools
import io
import json
import os
import time
import uuid
from datetime import date

import boto3
import pyarrow.parquet as pq
import pytest

from include.connections import pg_connect
from tests.faults.s3_fault_proxy import S3FaultProxy
from tests.helpers import (
    quiet_outbox,
    rows_md5,
    run_sources,
    run_task,
    slack_record,
    slack_reset,
    slack_texts,
)

pytestmark = pytest.mark.integration
SOURCES = ("include.sources.census", "include.sources.amplitude")  # one delta, one day table


@functools.cache
def _lake_conn() -> dict:
    """The lake connection as the stack defines it (read once, before any test points it
    at the proxy)."""
    return json.loads(os.environ["AIRFLOW_CONN_LAKE_S3"])


def _direct_s3():
    """A plain boto3 client on the S3 server itself (not through the proxy)."""
    conn = _lake_conn()
    return boto3.client(
        "s3",
        endpoint_url=conn["extra"]["endpoint_url"],
        aws_access_key_id=conn["login"],
        aws_secret_access_key=conn["password"],
        region_name=conn["extra"].get("region_name"),
    )


def _bucket_prefix() -> tuple[str, str]:
    bucket, _, prefix = _lake_conn()["extra"]["lake_uri"].removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


def _day_objects(day: date) -> dict[str, tuple]:
    """{key: (ETag, rows, md5 of the rows)} of every postgres-stream lake object of D."""
    import hashlib

    s3 = _direct_s3()
    bucket, prefix = _bucket_prefix()
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{prefix}/postgres/"
    ):
        for obj in page.get("Contents", []):
            if f"/dt={day.isoformat()}/" not in obj["Key"]:
                continue
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            rows = pq.read_table(io.BytesIO(body)).to_pylist()
            digest = hashlib.md5(repr(rows).encode()).hexdigest()
            out[obj["Key"]] = (obj["ETag"], len(rows), digest)
    return out


def _table_of(key: str) -> str:
    return key.split("/")[-3]


def _exports() -> list[tuple]:
    """Every lake.exports row of the postgres target, as stored."""
    with pg_connect("source_db") as conn:
        return conn.execute(
            "select * from lake.exports where target = 'postgres' order by table_name, day"
        ).fetchall()


def _day_exports(day: date) -> dict[str, int]:
    with pg_connect("source_db") as conn:
        return dict(
            conn.execute(
                "select table_name, row_count from lake.exports "
                "where target = 'postgres' and day = %s",
                (day,),
            ).fetchall()
        )


def _staging(day: date, tables) -> dict:
    with pg_connect("warehouse_db") as conn:
        return {
            t: rows_md5(conn, f"staging.{t}", "_lake_day = %s", (day,), ("_loaded_at",))
            for t in sorted(tables)
        }


def _forget_export(day: date) -> None:
    """Back to "D never exported": its objects, its lake.exports rows, its staging rows."""
    s3 = _direct_s3()
    bucket, _ = _bucket_prefix()
    for key in _day_objects(day):
        s3.delete_object(Bucket=bucket, Key=key)
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute("delete from lake.exports where target = 'postgres' and day = %s", (day,))
    with pg_connect("warehouse_db", autocommit=True) as conn:
        for (table,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'staging'"
        ).fetchall():
            conn.execute(f'delete from staging."{table}" where _lake_day = %s', (day,))


def _land(day: date) -> None:
    outcome = run_sources(day, f"test-s3-land-{uuid.uuid4()}", SOURCES)
    bad = {k: v for k, v in outcome.items() if isinstance(v, Exception)}
    assert not bad, bad


@pytest.fixture
def proxy(monkeypatch):
    """The lake connection through the fault proxy for the test."""
    conn = _lake_conn()
    with S3FaultProxy(conn["extra"]["endpoint_url"]) as p:
        through = {**conn, "extra": {**conn["extra"], "endpoint_url": p.url}}
        monkeypatch.setenv("AIRFLOW_CONN_LAKE_S3", json.dumps(through))
        yield p
        monkeypatch.setenv("AIRFLOW_CONN_LAKE_S3", json.dumps(conn))


def _export(day: date):
    from include.lake.export import export_day

    return export_day(day)


def _load(day: date):
    from include.warehouse import load_days

    return load_days([day])


def test_transient_slowdowns_during_the_export_are_retried_and_the_objects_are_unchanged(proxy):
    day = date(2039, 3, 1)
    _land(day)
    _export(day)
    reference, rows = _day_objects(day), _day_exports(day)
    assert len(reference) >= 10 and any(n for _, n, _ in reference.values())
    _forget_export(day)

    uploads = rf"/postgres/[^/]+/dt={day.isoformat()}/"
    proxy.fail(503, method="PUT", path=uploads, times=4)  # the first upload, 4 times in a row
    proxy.fail(500, method="PUT", path=uploads, after=5, times=1)  # and a later one once
    _export(day)

    faults = [r for r in proxy.requests("PUT", uploads) if not r.forwarded]
    assert [r.status for r in faults] == [503, 503, 503, 503, 500]
    for fault in faults:  # each faulted upload was asked again until S3 took it
        answers = [r.status for r in proxy.requests("PUT", fault.path)]
        assert answers[-1] == 200, (fault.path, answers)
    assert _day_objects(day) == reference
    assert _day_exports(day) == rows
    _load(day)  # staging holds what was exported (later reconciliations expect it)


@pytest.mark.parametrize("status", [503, 500])
def test_a_lasting_s3_outage_fails_the_export_clearly_then_the_rerun_equals_one_run(
    proxy, monkeypatch, status
):
    day = date(2039, 4, 1 + (status == 500))
    attempts = 2  # the bound the test sets for each S3 call (botocore alone: 3)
    monkeypatch.setenv("ELT_S3_MAX_ATTEMPTS", str(attempts))
    _land(day)
    _export(day)
    _load(day)
    reference, rows = _day_objects(day), _day_exports(day)
    tables = {_table_of(k) for k in reference}
    staged = _staging(day, tables)
    assert len(reference) >= 10 and any(n for n, _ in staged.values())
    _forget_export(day)
    before = _exports()
    quiet_outbox()
    slack_reset()

    uploads = rf"/postgres/[^/]+/dt={day.isoformat()}/"
    proxy.fail(status, method="PUT", path=uploads, after=5)  # up from the 6th upload, for good
    run_id = f"test-s3-outage-{uuid.uuid4()}"
    started = time.monotonic()
    error = run_task("warehouse", "export_lake", day, run_id, lambda ctx: _export(day))
    took = time.monotonic() - started

    # A clear, bounded failure: S3 named, the object it could not write, no secret.
    assert isinstance(error, Exception), error
    text = f"{type(error).__name__}: {error}"
    failed = [r for r in proxy.requests("PUT", uploads) if not r.forwarded]
    failed_key = failed[0].path.removeprefix("/")
    assert {r.path for r in failed} == {failed[0].path}, "the export went on past the failure"
    assert len(failed) == attempts, [r.status for r in failed]
    assert took < 60, f"the failure took {took:.0f} s"
    assert "S3" in text and failed_key.split("/", 1)[1] in text, text
    assert ("SlowDown" if status == 503 else "InternalError") in text, text
    secrets = (_lake_conn()["login"], _lake_conn()["password"])
    assert not [s for s in secrets if s in text], text

    # Nothing half-written: the objects written before the outage are those of a complete
    # export, the rest is absent, and no watermark moved.
    now = _day_objects(day)
    assert len(now) == 5 and all(reference[k] == v for k, v in now.items()), now
    assert _exports() == before

    # The failure callback's alert: in the outbox, then in Slack, without secrets.
    with pg_connect("source_db") as conn:
        outbox = conn.execute(
            "select status, payload::text from quality.alert_outbox "
            "where run_id = %s and kind = 'task_failure'",
            (run_id,),
        ).fetchall()
    assert len(outbox) == 1 and outbox[0][0] == "sent", outbox
    alerts = [t for t in slack_texts() if run_id in t]
    assert len(alerts) == 1 and "export_lake" in alerts[0] and "S3" in alerts[0], alerts
    record = json.dumps(slack_record()) + outbox[0][1]
    assert not [s for s in secrets if s in record]

    # The outage ends: the rerun gives what one uninterrupted run gave.
    proxy.clear()
    _export(day)
    _load(day)
    assert _day_objects(day) == reference
    assert _day_exports(day) == rows
    assert _staging(day, tables) == staged
