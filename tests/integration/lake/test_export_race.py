"""The incremental lake export under concurrent writers. `updated_at` is a writer's
transaction start, so a writer that began before an export and commits after it has rows
below anything the export saw: the watermark must not pass them. Two real sessions: one
holds its transaction open across the export."""

import io
import time
import uuid
from datetime import date

import pyarrow.parquet as pq
import pytest

from include.connections import pg_connect
from include.lake.table import LakeTable

pytestmark = pytest.mark.integration
D1, D2 = date(2033, 1, 1), date(2033, 1, 2)


@pytest.fixture
def scratch():
    schema = f"race_{uuid.uuid4().hex[:8]}"
    table = LakeTable(
        f"race_{uuid.uuid4().hex[:6]}", ("id",), (("id", "int64"), ("updated_at", "timestamp"))
    )
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
        conn.execute(
            f"create table {schema}.{table.name} (id bigint primary key, "
            "updated_at timestamptz not null default now())"
        )
    yield schema, table
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(f"drop schema {schema} cascade")
        conn.execute("delete from lake.exports where table_name = %s", (table.name,))


def _ids(s3, bucket, key) -> set[int]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return set(pq.read_table(io.BytesIO(body)).column("id").to_pylist())


def test_a_writer_open_across_an_export_is_not_skipped(scratch):
    from include.lake import lake_location
    from include.lake.export import export_table

    schema, table = scratch
    s3, bucket, prefix = lake_location()
    prefix = f"{prefix}-test-race"
    with (
        pg_connect("source_db") as slow,
        pg_connect("source_db", autocommit=True) as fast,
        pg_connect("source_db", autocommit=True) as exporter,
    ):
        # The slow writer's row carries its transaction start ...
        slow.execute(f"insert into {schema}.{table.name} (id) values (1)")
        time.sleep(0.05)
        # ... a later writer commits first, with a later updated_at ...
        fast.execute(f"insert into {schema}.{table.name} (id) values (2)")
        first = export_table(exporter, s3, bucket, prefix, table, D1, schema=schema)
        slow.commit()  # ... and the slow one commits after the export.
        second = export_table(exporter, s3, bucket, prefix, table, D2, schema=schema)
    exported = _ids(s3, bucket, first.key) | _ids(s3, bucket, second.key)
    assert exported == {1, 2}, (
        f"D1 {_ids(s3, bucket, first.key)}, D2 {_ids(s3, bucket, second.key)}"
    )
