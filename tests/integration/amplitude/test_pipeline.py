"""Amplitude raw load on the real local services: archive before parse, dedup on
$insert_id (else uuid) across files and reruns, quarantine with reasons, empty days."""

import gzip
import io
import json
import uuid
import zipfile
from datetime import date

import pytest

from include.connections import pg_connect
from include.quality import DataQualityError, RunContext
from tests.helpers import amplitude_export, control

pytestmark = pytest.mark.integration
DAY = date(2024, 8, 1)


@pytest.fixture(autouse=True)
def _clean():
    """No fault, and DAY never loaded: each test starts from a new day (a reload that offers
    less than the day holds is refused, tests/faults/test_amplitude_faults.py)."""
    control({})
    with pg_connect("source_db") as conn:
        for table in ("amplitude_event", "amplitude_event_property", "amplitude_quarantine"):
            conn.execute(f"delete from raw.{table} where export_day = %s", (DAY,))
    yield
    control({})


def _ctx():
    return RunContext(f"test-amp-{uuid.uuid4()}", "amplitude_events", "export_load", DAY)


def _wire_lines():
    """Every line of the day's export, straight from the wire (no project code)."""
    content = amplitude_export(DAY)
    lines = []
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        for name in sorted(zf.namelist()):
            try:
                text = gzip.decompress(zf.read(name)).decode()
            except (OSError, EOFError):
                lines.append((name, None))
                continue
            lines += [(name, line) for line in text.splitlines() if line.strip()]
    return lines, content


def _expected_keys(lines):
    keys = set()
    for _, line in lines:
        try:
            event = json.loads(line) if line else None
        except ValueError:
            continue
        if (
            isinstance(event, dict)
            and event.get("event_time")
            and (event.get("$insert_id") or event.get("uuid"))
        ):
            keys.add(event.get("$insert_id") or event.get("uuid"))
    return keys


def _counts():
    with pg_connect("source_db") as conn:
        return conn.execute(
            "select (select count(*) from raw.amplitude_event where export_day = %(d)s), "
            "(select count(*) from raw.amplitude_event_property where export_day = %(d)s), "
            "(select count(*) from raw.amplitude_quarantine where export_day = %(d)s)",
            {"d": DAY},
        ).fetchone()


def test_day_is_archived_then_loaded_deduplicated_and_a_rerun_replaces_it():
    from include.lake import lake_location
    from include.sources.amplitude import ingest_day as amplitude_batch

    lines, _ = _wire_lines()
    expected = _expected_keys(lines)
    assert len(lines) > len(expected)  # the export repeats events across files
    result = amplitude_batch(DAY, _ctx())
    events, props, bad = _counts()
    assert events == len(expected) and bad == 0
    with pg_connect("source_db") as conn:
        keys = {
            r[0]
            for r in conn.execute(
                "select event_key from raw.amplitude_event where export_day = %s", (DAY,)
            )
        }
    assert keys == expected
    # The zips as received are in the lake, under deterministic keys for the day.
    s3, bucket, prefix = lake_location()
    archived = {
        o["Key"]
        for o in s3.list_objects_v2(
            Bucket=bucket, Prefix=f"{prefix}-raw/amplitude/dt={DAY.isoformat()}/"
        )["Contents"]
    }
    assert set(result.archive_keys) <= archived and result.archive_keys
    body = s3.get_object(Bucket=bucket, Key=result.archive_keys[0])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.namelist()
    amplitude_batch(DAY, _ctx())
    assert _counts() == (events, props, bad)  # the rerun replaced the day


def test_no_data_is_an_empty_successful_day_recorded_as_such():
    from include.sources.amplitude import ingest_day as amplitude_batch

    control({"amplitude": "404"})
    ctx = _ctx()
    result = amplitude_batch(DAY, ctx)
    assert result.loaded.events == 0 and result.archive_keys == []
    assert _counts()[0] == 0
    with pg_connect("source_db") as conn:
        row = conn.execute(
            "select status, observed, details->>'empty_day' from "
            "quality.check_results where run_id = %s and "
            "check_name = 'amplitude_events_loaded'",
            (ctx.run_id,),
        ).fetchone()
    assert row == ("pass", "0", "true")


def test_bad_lines_are_quarantined_with_reasons_and_the_rest_loads():
    from include.sources.amplitude import ingest_day as amplitude_batch

    control({"amplitude": "bad_line"})
    lines, _ = _wire_lines()
    amplitude_batch(DAY, _ctx())
    events, _, bad = _counts()
    assert events == len(_expected_keys(lines))
    with pg_connect("source_db") as conn:
        reasons = conn.execute(
            "select member, line_number, reason from "
            "raw.amplitude_quarantine where export_day = %s",
            (DAY,),
        ).fetchall()
    assert bad == 2 and {r[2] for r in reasons} == {"not JSON", "missing event_time"}
    assert all(r[0].endswith(".json.gz") and r[1] for r in reasons)


def test_a_truncated_member_is_quarantined_and_too_many_bad_rows_fail_after_loading(monkeypatch):
    from include.sources.amplitude import ingest_day as amplitude_batch

    control({"amplitude": "truncated_member"})
    lines, _ = _wire_lines()
    monkeypatch.setenv("AMPLITUDE_MAX_BAD_FRACTION", "0.0")
    with pytest.raises(DataQualityError, match="amplitude_quarantine_share"):
        amplitude_batch(DAY, _ctx())
    events, _, bad = _counts()
    assert bad == 1  # the member, once
    assert events == len(_expected_keys(lines)) > 0  # everything else was loaded first
    with pg_connect("source_db") as conn:
        assert conn.execute(
            "select line_number, reason like 'corrupt gzip member%%' from "
            "raw.amplitude_quarantine where export_day = %s",
            (DAY,),
        ).fetchone() == (None, True)


def test_a_member_failing_after_whole_batches_is_discarded_and_counted_as_bad(tmp_path):
    from include.sources.amplitude.load import load_day

    # 40k small events in one member, cut at 80%: the parser yields whole batches of it
    # before the gzip stream breaks. None of the member may load, and its lines count as bad.
    lines = b"".join(
        json.dumps(
            {
                "$insert_id": f"cut-{i}",
                "event_time": "2024-08-01 10:00:00",
                "event_type": "e",
                "event_properties": {"i": i},
            }
        ).encode()
        + b"\n"
        for i in range(40_000)
    )
    data = gzip.compress(lines)
    good = gzip.compress(
        json.dumps(
            {"$insert_id": "fine", "event_time": "2024-08-01 10:00:00", "event_type": "e"}
        ).encode()
        + b"\n"
    )
    path = tmp_path / "cut.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("p/cut#0.json.gz", data[: int(len(data) * 0.8)])
        zf.writestr("p/fine#0.json.gz", good)
    with pg_connect("source_db", autocommit=True) as conn:
        result = load_day(conn, DAY, [("test/cut.zip", path)])
    assert result.events == 1 and result.quarantined == 1
    assert result.discarded >= 10_000  # at least one whole batch had been copied
    events, props, bad = _counts()
    assert (events, props, bad) == (1, 0, 1)
    with pg_connect("source_db") as conn:
        reason = conn.execute(
            "select reason from raw.amplitude_quarantine where export_day = %s", (DAY,)
        ).fetchone()[0]
    assert (
        reason.startswith("corrupt gzip member")
        and f"({result.discarded} lines read before the failure" in reason
    )
