"""A day's lake export is one snapshot of every table: a change committed while the export
runs is in none of the day's files (it is in the next day's), so the tables of a day (the
OLTP tables, and Amplitude's events and their properties) never mix two states."""

import io
import uuid
from datetime import date

import pyarrow.parquet as pq
import pytest

from include.connections import pg_connect
from tests.helpers import failures, run_day

pytestmark = pytest.mark.integration
DAY, NEXT = date(2034, 2, 1), date(2034, 2, 2)


def _rows(s3, bucket, key, column, value):
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    return [r for r in table.to_pylist() if r[column] == value]


def test_a_change_committed_during_the_export_is_in_no_file_of_that_day(monkeypatch):
    import include.lake.export as export
    from include.lake import lake_location, object_key

    assert not failures(outcome := run_day(DAY, run_id=f"test-{uuid.uuid4()}")), outcome
    s3, bucket, prefix = lake_location()
    marker = f"Snapshot {uuid.uuid4().hex[:6]} County"

    class ChangingMidExport:
        """The S3 client, plus: right after the first file is uploaded, another session
        renames a county (a table exported later in the same day) and commits."""

        def __init__(self):
            self.done = False

        def upload_file(self, *args, **kwargs):
            s3.upload_file(*args, **kwargs)
            if not self.done:
                self.done = True
                with pg_connect("source_db", autocommit=True) as other:
                    other.execute(
                        "update oltp.county set county_name = %s, updated_at = now() "
                        "where county_fips = '01001'",
                        (marker,),
                    )

    monkeypatch.setattr(export, "lake_location", lambda: (ChangingMidExport(), bucket, prefix))
    export.export_day(DAY)
    monkeypatch.undo()
    in_day = _rows(s3, bucket, object_key(prefix, "county", DAY), "county_name", marker)
    export.export_day(NEXT)
    in_next = _rows(s3, bucket, object_key(prefix, "county", NEXT), "county_name", marker)
    with pg_connect("source_db", autocommit=True) as conn:  # leave the county as the source has it
        conn.execute("delete from lake.exports where day = any(%s)", ([DAY, NEXT],))
    assert in_day == []
    assert len(in_next) == 1
