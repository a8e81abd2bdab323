"""The Amplitude client against the local Export API (local/sources/amplitude.py),
read through the `amplitude_api` connection that `make env` exports. Expected values come
from raw HTTP calls with requests + zipfile + gzip, not from the code under test."""

import gzip
import io
import os
import zipfile
from datetime import date, datetime, timedelta

import pytest
import requests

from include.connections import get_connection
from include.connections.http import retrying_session
from include.sources.amplitude.client import AmplitudeClient
from include.sources.amplitude.client import from_connection as amplitude_client
from include.sources.amplitude.parser import AmplitudeError, Event, Quarantined, iter_events
from tests.helpers import control, request_counts

pytestmark = pytest.mark.integration

DAY = date(2024, 3, 1)


def _conn():
    return get_connection("amplitude_api")


def _raw(start: str, end: str) -> requests.Response:
    conn = _conn()
    return requests.get(
        f"{conn.host}/api/2/export",
        params={"start": start, "end": end},
        auth=(conn.login, conn.password),
        timeout=30,
    )


def _raw_line_count(body: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return sum(
            len([ln for ln in gzip.decompress(zf.read(n)).splitlines() if ln.strip()])
            for n in zf.namelist()
        )


def _client() -> AmplitudeClient:
    return amplitude_client(session=retrying_session(total=3, backoff=0.01))


def _events(paths):
    items = [i for p in paths for i in iter_events(p)]
    return (
        [i for i in items if isinstance(i, Event)],
        [i for i in items if isinstance(i, Quarantined)],
    )


@pytest.fixture(autouse=True)
def _reset():
    if "AIRFLOW_CONN_AMPLITUDE_API" not in os.environ:
        pytest.fail('run under `make test` (or eval "$(make -s env)") so the connections exist')
    control({})
    yield
    control({})


def test_day_exports_and_parses(tmp_path):
    raw = _raw("20240301T00", "20240301T23")
    assert raw.status_code == 200 and raw.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(raw.content)) as zf:
        names = zf.namelist()
    assert all(n.endswith(".json.gz") and "_2024-03-01_" in n and "#" in n for n in names)
    assert len(names) > 24  # several files per hour

    paths = _client().export_day(DAY, tmp_path)
    assert len(paths) == 1 and paths[0].read_bytes() == raw.content
    events, quarantined = _events(paths)
    assert quarantined == []
    assert len(events) == _raw_line_count(raw.content)
    for e in events:
        assert e.event_time.utcoffset() == timedelta(0)
        assert e.server_upload_time.date() == DAY
        assert e.insert_id or e.uuid
    ids = [e.insert_id for e in events if e.insert_id]
    assert len(ids) > len(set(ids)), "the export repeats some $insert_id across files"
    assert any(e.insert_id is None and e.uuid for e in events)
    assert any(not (e.city or "").isascii() for e in events)


def test_bad_credentials_surface_clearly(tmp_path):
    conn = _conn()
    client = AmplitudeClient(
        conn.host, conn.login, "wrong-secret", session=retrying_session(total=1, backoff=0.01)
    )
    with pytest.raises(AmplitudeError) as err:
        client.export_day(DAY, tmp_path)
    assert err.value.status == 401 and "wrong-secret" not in str(err.value)


def test_404_is_an_empty_day(tmp_path):
    control({"amplitude": "404"})
    assert _raw("20240301T00", "20240301T23").status_code == 404
    assert _client().export_day(DAY, tmp_path) == []
    assert (
        _client().export_to_file(datetime(2024, 3, 1), datetime(2024, 3, 1, 23), tmp_path / "x.zip")
        is None
    )
    assert list(tmp_path.iterdir()) == []


def test_400_splits_into_hours_and_loses_nothing(tmp_path):
    control({"amplitude": "400"})
    assert _raw("20240301T00", "20240301T23").status_code == 400
    expected, empty = 0, []
    for hour in range(24):
        resp = _raw(f"20240301T{hour:02d}", f"20240301T{hour:02d}")
        if resp.status_code == 404:  # an hour without data
            empty.append(f"amplitude_20240301T{hour:02d}.zip")
            continue
        assert resp.status_code == 200
        expected += _raw_line_count(resp.content)
    assert len(empty) == 1  # the server's empty hour
    control({"amplitude": "400"})  # reset the call count
    paths = _client().export_day(DAY, tmp_path)
    assert len(paths) == 23 and request_counts()["amplitude"] == 25
    assert sorted(p.name for p in paths)[0] == "amplitude_20240301T00.zip"
    assert empty[0] not in {p.name for p in paths}
    events, quarantined = _events(paths)
    assert quarantined == [] and len(events) == expected


def test_504_once_is_retried(tmp_path):
    control({"amplitude": "504_once"})
    paths = _client().export_day(DAY, tmp_path)
    assert len(paths) == 1 and request_counts()["amplitude"] == 2
    events, _ = _events(paths)
    assert events


def test_504_always_surfaces_a_clear_error(tmp_path):
    control({"amplitude": "504"})
    with pytest.raises(AmplitudeError, match=r"504.*timed out") as err:
        _client().export_day(DAY, tmp_path)
    assert err.value.status == 504
    assert request_counts()["amplitude"] == 4  # the first call and 3 retries
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("fault", ["bad_line", "truncated_member"])
def test_broken_data_is_quarantined_and_the_rest_loads(tmp_path, fault):
    clean = _raw_line_count(_raw("20240301T00", "20240301T23").content)
    control({"amplitude": fault})
    events, quarantined = _events(_client().export_day(DAY, tmp_path))
    assert quarantined
    assert {q.member for q in quarantined} == {"187520/187520_2024-03-01_0#0.json.gz"}
    if fault == "bad_line":
        assert sorted(q.reason for q in quarantined) == ["missing event_time", "not JSON"]
        assert all(q.line_number and q.raw_line for q in quarantined)
        assert len(events) == clean - 1
    else:
        [q] = quarantined
        assert q.line_number is None and "corrupt gzip member" in q.reason
        assert 0 < len(events) < clean
        assert all(e.member != q.member for e in events)


def test_export_streams_to_disk(tmp_path, monkeypatch):
    session = retrying_session(total=1, backoff=0.01)
    calls = []
    real_get = session.get

    def spy(*args, **kwargs):
        calls.append(kwargs)
        resp = real_get(*args, **kwargs)
        calls[-1]["content_length"] = int(resp.headers["Content-Length"])
        return resp

    monkeypatch.setattr(session, "get", spy)
    [path] = amplitude_client(session=session).export_day(DAY, tmp_path)
    assert calls[0]["stream"] is True
    assert path.stat().st_size == calls[0]["content_length"]
    assert not list(tmp_path.glob("*.part"))
