"""The S3 lake: the table registry every stage reads, and where the lake is.

`TABLES` is every source's `lake.py` TABLES, in the order of `include.sources.SOURCES`.
The export is `include.lake.export`; the warehouse targets load what it wrote.
"""

from __future__ import annotations

import importlib
from datetime import date

from include.lake.table import LakeTable
from include.sources import SOURCES


def _registered() -> tuple[LakeTable, ...]:
    tables = tuple(
        t
        for name in SOURCES
        for t in importlib.import_module(f"include.sources.{name}.lake").TABLES
    )
    names = [t.name for t in tables]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"lake tables registered twice: {duplicated}")
    return tables


TABLES: tuple[LakeTable, ...] = _registered()


def table_source(name: str) -> str:
    """The source whose `lake.py` registers lake table `name` (KeyError naming it when
    unknown)."""
    for source in SOURCES:
        tables = importlib.import_module(f"include.sources.{source}.lake").TABLES
        if any(t.name == name for t in tables):
            return source
    raise KeyError(f"no lake table {name!r} in the registry")


def lake_table(name: str) -> LakeTable:
    """The registered lake table `name` (KeyError naming it when unknown)."""
    for table in TABLES:
        if table.name == name:
            return table
    raise KeyError(f"no lake table {name!r} in the registry")


def s3_limits() -> dict[str, int]:
    """Every S3 call is bounded (env-tunable): attempts per call (botocore's "standard"
    retries: 5xx, SlowDown and other throttling, connection errors, with jittered
    exponential backoff capped at 20 s) and the connect and read timeouts, in seconds."""
    import os

    return {
        "attempts": int(os.environ.get("ELT_S3_MAX_ATTEMPTS", "6")),
        "connect": int(os.environ.get("ELT_S3_CONNECT_TIMEOUT_SECONDS", "10")),
        "read": int(os.environ.get("ELT_S3_READ_TIMEOUT_SECONDS", "60")),
    }


def s3_config():
    """The botocore Config of every lake client: `s3_limits`, set here rather than left to
    botocore's defaults and whatever AWS_* variables or ~/.aws/config a worker has."""
    from botocore.config import Config

    limits = s3_limits()
    return Config(
        retries={"mode": "standard", "total_max_attempts": limits["attempts"]},
        connect_timeout=limits["connect"],
        read_timeout=limits["read"],
    )


def lake_location(conn_id: str = "lake_s3"):
    """(boto3 S3 client, bucket, prefix) from the `lake_s3` connection; the client's
    retries and timeouts are bounded (`s3_limits`)."""
    import boto3

    from include.connections import get_connection

    conn = get_connection(conn_id)
    extra = conn.extra_dejson
    uri = extra.get("lake_uri", "")
    if not uri.startswith("s3://"):
        raise ValueError("lake_s3 connection needs extra lake_uri = s3://bucket/prefix")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    client = boto3.client(
        "s3",
        endpoint_url=extra.get("endpoint_url"),
        aws_access_key_id=conn.login or None,
        aws_secret_access_key=conn.password or None,
        region_name=extra.get("region_name"),
        config=s3_config(),
    )
    return client, bucket, prefix.strip("/")


def target_name() -> str:
    """The warehouse target this process serves (`WAREHOUSE`, default postgres)."""
    import os

    return os.environ.get("WAREHOUSE", "postgres").lower()


def object_key(prefix: str, table: str, day: date, target: str | None = None) -> str:
    """The lake object of `table` for day D in `target`'s stream (default: this process's
    target). Each target has its own stream, so one target's deltas never hide rows from
    the other: `<prefix>/<target>/<table>/dt=D/part-0000.parquet`."""
    target = target or target_name()
    return f"{prefix}/{target}/{table}/dt={day.isoformat()}/part-0000.parquet".lstrip("/")
