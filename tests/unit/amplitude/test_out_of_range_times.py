"""Times no layer can hold (after year 9999 or before year 1 once in UTC: Python's datetime,
the lake export through psycopg, PostgreSQL timestamptz and BigQuery TIMESTAMP agree on
0001-01-01..9999-12-31 UTC) are quarantined with their reason, on the bulk path (Arrow) and
on the per-line path alike; the rest of the batch loads. Zips built here, no server."""

import gzip
import json
import zipfile
from datetime import UTC, datetime

import pytest

from include.sources.amplitude.parser import Event, Quarantined, iter_events, parse_line

FIELDS = ("event_time", "client_event_time", "server_upload_time")
OUT_OF_RANGE = (
    "9999-12-31T23:59:59-05:00",  # 10000-01-01 04:59:59 UTC
    "0000-01-01T00:00:00",  # year 0 (Arrow parses it; Python and PostgreSQL do not)
    "0000-12-31 23:00:00",
    "0001-01-01T00:00:00+01:00",  # 0000-12-31 23:00 UTC
    "9999-12-31T23:30:00-00:45",
)


def _event(key: str, **over) -> dict:
    event = {
        "$insert_id": key,
        "event_time": "2024-03-01 00:10:00.123456",
        "client_event_time": "2024-03-01 00:09:59.000000",
        "server_upload_time": "2024-03-01 00:15:00.5",
        "event_type": "e",
        "event_properties": {"n": 1},
    }
    event.update(over)
    return event


def _zip(tmp_path, lines: list[bytes]):
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("t#0.json.gz", gzip.compress(b"\n".join(lines) + b"\n"))
    return path


def _line(event: dict) -> bytes:
    return json.dumps(event).encode()


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("field", FIELDS)
def test_the_reference_parser_quarantines_a_time_out_of_range(field, value):
    item = parse_line(_line(_event("x", **{field: value})), "m", 1)
    assert isinstance(item, Quarantined), item
    assert item.reason.startswith(f"bad {field}: {value!r}") and "out of range" in item.reason


@pytest.mark.parametrize("field", FIELDS)
def test_the_last_and_first_storable_instants_load(field):
    for value, expected in (
        ("9999-12-31 23:59:59.999999", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("0001-01-01T00:00:00", datetime(1, 1, 1, tzinfo=UTC)),
        ("0001-01-01T01:00:00+01:00", datetime(1, 1, 1, tzinfo=UTC)),
    ):
        item = parse_line(_line(_event("x", **{field: value})), "m", 1)
        assert isinstance(item, Event), item
        assert getattr(item, field) == expected


@pytest.mark.parametrize("field", FIELDS)
def test_a_clean_batch_quarantines_a_year_0_time_arrow_accepts(tmp_path, field):
    # Every line is well typed, so the batch takes the bulk path, where Arrow parses year 0.
    events = [_event(f"k{i}") for i in range(30)]
    events[11][field] = "0000-01-01T00:00:00"
    events[12][field] = "9999-12-31 23:59:59.999999"  # the last instant: loads
    path = _zip(tmp_path, [_line(e) for e in events])
    items = list(iter_events(path))  # converts every time to a Python datetime
    bad = [i for i in items if isinstance(i, Quarantined)]
    assert [(q.line_number, q.reason.split(":")[0]) for q in bad] == [(12, f"bad {field}")]
    assert "out of range" in bad[0].reason and json.loads(bad[0].raw_line) == events[11]
    good = {e.insert_id: e for e in items if isinstance(e, Event)}
    assert sorted(good) == sorted(f"k{i}" for i in range(30) if i != 11)
    assert getattr(good["k12"], field) == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    for number, e in enumerate(events, start=1):
        if number != 12:
            assert good[e["$insert_id"]] == parse_line(_line(e), "t#0.json.gz", number)


def test_the_per_line_path_quarantines_times_out_of_range_and_loads_the_rest(tmp_path):
    # A line that is not JSON sends the batch down the per-line path; there, one time Arrow
    # cannot cast (an offset past year 9999) and one it can (year 0) must both be
    # quarantined, not raise, and the good lines load.
    lines = [
        _line(_event("a")),
        b'{"$insert_id": "broken", "event_time": ',
        _line(_event("late", event_time="9999-12-31T23:59:59-05:00")),
        _line(_event("zero", server_upload_time="0000-01-01T00:00:00")),
        _line(_event("early", client_event_time="0001-01-01T00:00:00+01:00")),
        _line(_event("b")),
    ]
    items = list(iter_events(_zip(tmp_path, lines)))
    assert [e.insert_id for e in items if isinstance(e, Event)] == ["a", "b"]
    assert [
        (q.line_number, q.reason.split(":")[0]) for q in items if isinstance(q, Quarantined)
    ] == [
        (2, "not JSON"),
        (3, "bad event_time"),
        (4, "bad server_upload_time"),
        (5, "bad client_event_time"),
    ]
