"""Lake export: Parquet under deterministic keys, incremental on updated_at, rerun-safe."""

import io
import uuid
from datetime import date

import pyarrow.parquet as pq
import pytest

from include.connections import pg_connect
from include.lake import lake_location
from tests.helpers import failures, run_day

pytestmark = pytest.mark.integration


def _read(s3, bucket, key):
    return pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_export_is_deterministic_incremental_and_matches_oltp():
    day1, day2 = date(2031, 5, 1), date(2031, 5, 2)  # days no other test exports
    with pg_connect("source_db", autocommit=True) as conn:
        # No earlier export: day 1 exports everything, so the expected values are the
        # whole OLTP table.
        conn.execute("delete from lake.exports")
    outcome = run_day(day1, run_id=f"test-{uuid.uuid4()}")
    assert not failures(outcome), failures(outcome)
    s3, bucket, prefix = lake_location()
    key1 = f"{prefix}/postgres/county_population/dt=2031-05-01/part-0000.parquet"
    first = _read(s3, bucket, key1)
    with pg_connect("source_db") as conn:
        expected = conn.execute(
            "select count(*), sum(population) from oltp.county_population"
        ).fetchone()
    assert expected[0] > 0
    assert (first.num_rows, sum(v for v in first.column("population").to_pylist() if v)) == expected
    assert first.schema.field("updated_at").type.tz == "UTC"

    # Next day, nothing changed at the source: an empty file with the same schema.
    run_day(day2, run_id=f"test-{uuid.uuid4()}")
    second = _read(
        s3, bucket, f"{prefix}/postgres/county_population/dt=2031-05-02/part-0000.parquet"
    )
    assert second.num_rows == 0 and second.schema == first.schema

    # Rerun of day 1: same key, same rows.
    run_day(day1, run_id=f"test-{uuid.uuid4()}")
    again = _read(s3, bucket, key1)
    assert again.equals(first)
