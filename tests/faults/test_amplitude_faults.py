"""Amplitude fault scenarios end to end on the local stack (source server, PostgreSQL, the
S3 lake, the warehouse staging and dbt, on PostgreSQL and on the BigQuery emulator).

Expected values come from the source server's wire, decoded here with requests/zipfile/
gzip/json (tests.helpers.amplitude_export), and from plain SQL: never from the code under
test.

* A re-export that offers less than day D holds (a 404, a day exported before Amplitude had
  processed it) fails, records `amplitude_day_not_shrunk`, alerts, and leaves D as it was in
  raw, the lake, staging and the marts; `accept_smaller_day` takes the smaller day
  deliberately, and the marts follow it (events D no longer carries leave them, or move
  to the next export day that carries them).
* Times out of range are quarantined, and the rest of the day loads.
* A zip bomb member and a 1 GiB line are quarantined with their reason by a load that runs
  in a child process under an address-space limit, whose peak RSS is asserted and printed.
"""

import gzip
import io
import json
import uuid
import zipfile
import zlib
from collections import defaultdict
from datetime import date, timedelta

import pytest
import requests

from include.connections import pg_connect
from include.quality import DataQualityError, RunContext
from tests.helpers import amplitude_export, control

pytestmark = pytest.mark.integration

D1, D2 = date(2024, 10, 1), date(2024, 10, 2)
DAYS = (D1, D2)
PROPERTY_FIELDS = ("event_properties", "user_properties", "group_properties", "groups", "data")
AMPLITUDE_MODELS = "+fct_amplitude_daily_active_users +amplitude_event_property"
MART_DATES = (D1 - timedelta(days=1), D2)  # the event days of D1's and D2's exports


# --- expected values, from the wire -----------------------------------------------------


def _key(event: dict) -> str:
    return event.get("$insert_id") or event["uuid"]


def _wire_events(day: date) -> list[dict]:
    """Every event line of the day's export as the server sends it now (faults apply);
    [] for a 404."""
    try:
        body = amplitude_export(day)
    except requests.HTTPError as exc:
        if exc.response is not None and exc.response.status_code == 404:
            return []
        raise
    out = []
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        for name in zf.namelist():
            out += [
                json.loads(line)
                for line in gzip.decompress(zf.read(name)).decode().splitlines()
                if line.strip()
            ]
    return out


def _expected_marts(days_events: list[tuple[date, list[dict]]]):
    """What the marts hold for these export days, in export-day order: per event key the
    first copy's export day, the property rows, and DAU by event day x platform x country."""
    first: dict[str, tuple[date, dict]] = {}
    for day, events in sorted(days_events, key=lambda d: d[0]):
        for e in events:
            first.setdefault(_key(e), (day, e))
    props = {(k, f): len(e.get(f) or {}) for k, (_, e) in first.items() for f in PROPERTY_FIELDS}
    users = defaultdict(set)
    events = defaultdict(int)
    for _, e in first.values():
        group = (
            date.fromisoformat(e["event_time"][:10]),
            e.get("platform") or "(unknown)",
            e.get("country") or "(unknown)",
        )
        users[group].add(e["amplitude_id"])
        events[group] += 1
    return {
        "events": {k: d for k, (d, _) in first.items()},
        "properties": sum(props.values()),
        "dau": {g: (len(u), events[g]) for g, u in users.items()},
    }


# --- the stack ----------------------------------------------------------------------------


def _raw_day(day: date):
    """(event keys, property rows, quarantined rows) raw holds for export day D."""
    with pg_connect("source_db") as conn:
        keys = {
            r[0]
            for r in conn.execute(
                "select event_key from raw.amplitude_event where export_day = %s", (day,)
            )
        }
        props, bad = conn.execute(
            "select (select count(*) from raw.amplitude_event_property where export_day = %(d)s),"
            " (select count(*) from raw.amplitude_quarantine where export_day = %(d)s)",
            {"d": day},
        ).fetchone()
    return keys, props, bad


def _lake_rows(day: date, table: str = "amplitude_event") -> int:
    """Rows of the day's Parquet file in the lake (this target's stream)."""
    import pyarrow.parquet as pq

    from include.lake import lake_location, object_key

    s3, bucket, prefix = lake_location()
    body = s3.get_object(Bucket=bucket, Key=object_key(prefix, table, day))["Body"].read()
    return pq.ParquetFile(io.BytesIO(body)).metadata.num_rows


class _Postgres:
    name = "postgres"

    def query(self, sql: str, params=()):
        with pg_connect("warehouse_db") as conn:
            cur = conn.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def exists(self, schema: str, table: str) -> bool:
        return bool(self.query("select to_regclass(%s)", (f"{schema}.{table}",))[0][0])

    def ref(self, schema: str, table: str) -> str:
        return f"{schema}.{table}"

    def day(self, day: date) -> str:
        return f"date '{day.isoformat()}'"


class _BigQuery:
    name = "bigquery"

    def __init__(self):
        from include.warehouse.bigquery import clients

        self.settings, self.bq, _ = clients()

    def query(self, sql: str, params=()):
        assert not params
        return [tuple(r.values()) for r in self.bq.query(sql).result()]

    def exists(self, schema: str, table: str) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            self.bq.get_table(f"{self.settings.project}.{schema}.{table}")
            return True
        except NotFound:
            return False

    def ref(self, schema: str, table: str) -> str:
        return f"`{self.settings.project}.{schema}.{table}`"

    def day(self, day: date) -> str:
        return f"DATE '{day.isoformat()}'"


def _assert_emulators_listening():
    import socket

    from local import config as cfg

    for name, port in (("bigquery", cfg.BQ_REST_PORT), ("gcs", cfg.GCS_PORT)):
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((cfg.HOST, port)) == 0, (
                f"{name} emulator not listening on {cfg.HOST}:{port}: run `make emulators`"
            )


def _forget_days(target) -> None:
    """D1 and D2 (and the event days of their marts) out of the target's staging and marts."""
    days = ", ".join(target.day(d) for d in DAYS)
    low, high = (target.day(d) for d in MART_DATES)
    for table in ("amplitude_event", "amplitude_event_property"):
        if target.exists("staging", table):
            target.query(f"delete from {target.ref('staging', table)} where _lake_day in ({days})")
    for table in ("fct_amplitude_event", "amplitude_event_property"):
        if target.exists("marts", table):
            target.query(f"delete from {target.ref('marts', table)} where export_day in ({days})")
    if target.exists("marts", "fct_amplitude_daily_active_users"):
        target.query(
            f"delete from {target.ref('marts', 'fct_amplitude_daily_active_users')} "
            f"where event_date between {low} and {high}"
        )


@pytest.fixture(params=["postgres", "bigquery"])
def warehouse(request, monkeypatch):
    """The warehouse target of the test (WAREHOUSE), with D1 and D2 forgotten there."""
    if request.param == "bigquery":
        from local import config as cfg

        _assert_emulators_listening()
        monkeypatch.setenv("WAREHOUSE", "bigquery")
        for key, value in cfg.emulator_settings().items():
            monkeypatch.setenv(key, value)
        target = _BigQuery()
    else:
        monkeypatch.setenv("WAREHOUSE", "postgres")
        target = _Postgres()
    _forget_days(target)
    return target


@pytest.fixture
def postgres_warehouse(monkeypatch):
    monkeypatch.setenv("WAREHOUSE", "postgres")
    _forget_days(_Postgres())


@pytest.fixture
def clean_days():
    """D1 and D2 unknown to raw and to the lake's export log; no fault."""
    control({})
    with pg_connect("source_db") as conn:
        for table in ("amplitude_event", "amplitude_event_property", "amplitude_quarantine"):
            conn.execute(f"delete from raw.{table} where export_day = any(%s)", (list(DAYS),))
        conn.execute(
            "delete from lake.exports where day = any(%s) and table_name like 'amplitude%%'",
            (list(DAYS),),
        )
    yield
    control({})


def _ingest(day: date, run_id: str, **kwargs):
    from include.sources.amplitude import ingest_day

    return ingest_day(
        day, RunContext(run_id, "amplitude_events", "export_archive_load", day), **kwargs
    )


def _warehouse_day(day: date, run_id: str) -> dict[str, str]:
    """The warehouse DAG's steps for day D on the current target, dbt limited to the
    Amplitude models; returns the statuses of the day's Amplitude reconciliation (the
    rows of D exported vs staged, raw D now vs staged)."""
    from include.dbt.runner import run_dbt
    from include.lake.export import export_day
    from include.warehouse import get_warehouse
    from include.warehouse.reconcile import reconcile_warehouse

    export_day(day)
    get_warehouse().load_day(day)
    results = reconcile_warehouse(RunContext(run_id, "warehouse", "reconcile", day))
    run_dbt(["build", "--select", AMPLITUDE_MODELS])
    return {
        r.check_name: r.status
        for r in results
        if "amplitude" in r.check_name and "day_rows" in r.check_name
    }


def _marts(target) -> dict:
    """The marts' content for D1 and D2, in the shape of _expected_marts."""
    days = ", ".join(target.day(d) for d in DAYS)
    low, high = (target.day(d) for d in MART_DATES)
    events = target.query(
        f"select insert_id, export_day from {target.ref('marts', 'fct_amplitude_event')} "
        f"where export_day in ({days})"
    )
    assert len(events) == len({e[0] for e in events}), "one row per insert_id"
    props = target.query(
        f"select count(*) from {target.ref('marts', 'amplitude_event_property')} "
        f"where export_day in ({days})"
    )[0][0]
    dau = target.query(
        f"select event_date, platform, country, active_users, events from "
        f"{target.ref('marts', 'fct_amplitude_daily_active_users')} "
        f"where event_date between {low} and {high}"
    )
    return {
        "events": dict(events),
        "properties": props,
        "dau": {(r[0], r[1], r[2]): (r[3], r[4]) for r in dau},
    }


def _check(run_id: str, name: str):
    with pg_connect("source_db") as conn:
        return conn.execute(
            "select status, dimension, observed, expected, details from quality.check_results "
            "where run_id = %s and check_name = %s",
            (run_id, name),
        ).fetchone()


# --- an empty or smaller re-export ----------------------------------------------------------


@pytest.mark.parametrize("fault", ["404", "short_day"])
def test_a_smaller_re_export_fails_alerts_and_keeps_the_loaded_day(
    clean_days, postgres_warehouse, fault
):
    from tests.helpers import failures, run_day

    full = {_key(e) for e in _wire_events(D1)}
    control({"amplitude": fault})
    offered = {_key(e) for e in _wire_events(D1)}
    control({})
    assert offered < full  # the fault really offers less (nothing at all for a 404)

    outcome = run_day(D1, run_id=f"test-amp-shrink-ok-{uuid.uuid4()}")
    assert not failures(outcome), failures(outcome)
    before = _raw_day(D1)
    assert before[0] == full
    lake_before = _lake_rows(D1)
    with pg_connect("warehouse_db") as conn:
        staged_before = conn.execute(
            "select count(*) from staging.amplitude_event where _lake_day = %s", (D1,)
        ).fetchone()[0]
        mart_before = conn.execute(
            "select count(*) from marts.fct_amplitude_event where export_day = %s", (D1,)
        ).fetchone()[0]
    assert lake_before == staged_before == len(full) and mart_before > 0

    control({"amplitude": fault})
    run_id = f"test-amp-shrink-{uuid.uuid4()}"
    outcome = run_day(D1, run_id=run_id)
    error = outcome["amplitude_events"]
    assert isinstance(error, DataQualityError), outcome
    message = str(error)
    assert D1.isoformat() in message
    assert f"holds {len(full)} events" in message and f"offers {len(offered)}" in message
    assert "accept_smaller_day" in message  # the way out is named
    status, dimension, observed, expected, details = _check(run_id, "amplitude_day_not_shrunk")
    assert (status, dimension, observed) == ("fail", "completeness", str(len(offered)))
    assert expected.startswith(f">= {len(full)}")
    assert details["held"] == len(full) and details["missing"] == len(full - offered)
    assert _raw_day(D1) == before  # the smaller day was not committed
    with pg_connect("source_db") as conn:  # the failure callback alerted
        alerts = [
            r[0]
            for r in conn.execute(
                "select payload->>'text' from quality.alert_outbox where payload->>'text' like %s",
                (f"%{run_id}%",),
            )
        ]
    assert any("amplitude_events" in a and "accept_smaller_day" in a for a in alerts), alerts

    # The warehouse may still run for D1 (another source's asset): D1 stays whole there.
    control({})
    _warehouse_day(D1, run_id)
    assert _lake_rows(D1) == lake_before
    with pg_connect("warehouse_db") as conn:
        assert (
            conn.execute(
                "select count(*) from staging.amplitude_event where _lake_day = %s", (D1,)
            ).fetchone()[0]
            == staged_before
        )
        assert (
            conn.execute(
                "select count(*) from marts.fct_amplitude_event where export_day = %s", (D1,)
            ).fetchone()[0]
            == mart_before
        )


def test_the_same_export_again_passes_the_shrink_check(clean_days):
    first = f"test-amp-same-{uuid.uuid4()}"
    _ingest(D1, first)
    again = f"test-amp-same-{uuid.uuid4()}"
    result = _ingest(D1, again)
    status, _, observed, _, details = _check(again, "amplitude_day_not_shrunk")
    assert status == "pass" and details["missing"] == 0
    assert int(observed) == details["held"] == result.loaded.events == len(_raw_day(D1)[0])
    status, *_ = _check(first, "amplitude_day_not_shrunk")
    assert status == "pass"  # a first load holds nothing yet


def test_accepted_smaller_days_reach_the_lake_staging_and_the_marts(clean_days, warehouse):
    run_id = f"test-amp-accept-{warehouse.name}-{uuid.uuid4()}"
    d1_full = _wire_events(D1)
    control({"amplitude": "short_day"})
    d1_short = _wire_events(D1)
    control({"amplitude": "resend_previous_hour"})
    d2 = _wire_events(D2)  # carries D1's hour 23 again, which the short D1 lacks
    moved = {_key(e) for e in d2} & ({_key(e) for e in d1_full} - {_key(e) for e in d1_short})
    assert moved

    control({})
    _ingest(D1, run_id)
    _warehouse_day(D1, run_id)
    control({"amplitude": "resend_previous_hour"})
    _ingest(D2, run_id)
    _warehouse_day(D2, run_id)
    assert _marts(warehouse) == _expected_marts([(D1, d1_full), (D2, d2)])

    # Smaller: refused by default, accepted on request.
    control({"amplitude": "short_day"})
    with pytest.raises(DataQualityError, match="accept_smaller_day"):
        _ingest(D1, run_id)
    accepted = f"{run_id}-short"
    result = _ingest(D1, accepted, accept_smaller_day=True)
    short_keys = {_key(e) for e in d1_short}
    assert result.loaded.events == len(short_keys) and _raw_day(D1)[0] == short_keys
    status, _, observed, _, details = _check(accepted, "amplitude_day_not_shrunk")
    assert status == "warn" and details["accepted_smaller_day"] is True
    assert (int(observed), details["held"]) == (len(short_keys), len({_key(e) for e in d1_full}))
    statuses = _warehouse_day(D1, accepted)
    assert set(statuses.values()) == {"pass"}, statuses
    assert _lake_rows(D1) == len(short_keys)
    expected = _expected_marts([(D1, d1_short), (D2, d2)])
    got = _marts(warehouse)
    assert got["events"] == expected["events"]  # D1's dropped events are gone ...
    assert all(got["events"][k] == D2 for k in moved)  # ... or come from D2 now
    assert got == expected

    # Empty (every hour a 404), accepted: D1 leaves the marts; D2's copies stay.
    control({"amplitude": "404"})
    emptied = f"{run_id}-404"
    result = _ingest(D1, emptied, accept_smaller_day=True)
    assert result.loaded.events == 0 and _raw_day(D1)[0] == set()
    statuses = _warehouse_day(D1, emptied)
    assert set(statuses.values()) == {"pass"}, statuses
    assert _lake_rows(D1) == 0
    assert _marts(warehouse) == _expected_marts([(D2, d2)])

    # What the incremental builds reached is what a full rebuild from staging gives.
    from include.dbt.runner import run_dbt

    run_dbt(["build", "--full-refresh", "--select", AMPLITUDE_MODELS])
    assert _marts(warehouse) == _expected_marts([(D2, d2)])


# --- times out of range -----------------------------------------------------------------

TIME_DAY = date(2024, 10, 5)


def _storable(value) -> bool:
    """A wire time Python can hold as a UTC datetime (psycopg, PostgreSQL and BigQuery hold
    the same range); naive means UTC, missing is fine."""
    from datetime import UTC, datetime

    if value in (None, ""):
        return True
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)
        return True
    except (ValueError, OverflowError):
        return False


def test_times_out_of_range_are_quarantined_and_the_rest_of_the_day_loads(monkeypatch):
    times = ("event_time", "client_event_time", "server_upload_time")
    control({"amplitude": "bad_time"})
    try:
        wire = _wire_events(TIME_DAY)
        bad = [e for e in wire if not all(_storable(e.get(f)) for f in times)]
        assert len(bad) == 3  # one per time field
        good = {_key(e) for e in wire if all(_storable(e.get(f)) for f in times)}
        with pg_connect("source_db") as conn:
            for table in ("amplitude_event", "amplitude_event_property", "amplitude_quarantine"):
                conn.execute(f"delete from raw.{table} where export_day = %s", (TIME_DAY,))
        # 3 bad lines of ~300 are 1%: the local day is small, the share check is not the point.
        monkeypatch.setenv("AMPLITUDE_MAX_BAD_FRACTION", "0.02")
        result = _ingest(TIME_DAY, f"test-amp-time-{uuid.uuid4()}")  # no OverflowError
    finally:
        control({})
    keys, _, quarantined = _raw_day(TIME_DAY)
    assert keys == good and result.loaded.events == len(good) and quarantined == 3
    with pg_connect("source_db") as conn:
        rows = conn.execute(
            "select reason, raw_line from raw.amplitude_quarantine where export_day = %s",
            (TIME_DAY,),
        ).fetchall()
    reasons = {json.loads(raw)["$insert_id"]: reason for reason, raw in rows}
    for e in bad:
        field = next(f for f in times if not _storable(e.get(f)))
        assert reasons[_key(e)] == (
            f"bad {field}: {e[field]!r} (out of range: 0001-01-01..9999-12-31 UTC)"
        )


# --- a zip bomb and a 1 GiB line, parsed and loaded in a child under a memory limit ------

# The child's address space: a plain load (imports, threads, pyarrow's pools) peaks at
# ~1.7 GB of virtual memory and ~250 MB resident here; holding a 1 GiB line (plus the copy
# a join makes) cannot fit the rest.
CHILD_ADDRESS_SPACE = 3 << 30
CHILD_PEAK_RSS = 600 << 20  # the bound asserted on the child's VmHWM
BOMB_DAY, LINE_DAY = date(2024, 10, 7), date(2024, 10, 8)
GOOD_TIME = "2024-10-07 10:00:00"
CHILD = r"""
import json, sys
from datetime import date
from pathlib import Path

from include.connections import pg_connect
from include.sources.amplitude.load import load_day

day, key, path = date.fromisoformat(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
with pg_connect("source_db", autocommit=True) as conn:
    result = load_day(conn, day, [(key, path)])
status = dict(
    line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines()
)
print("RESULT " + json.dumps({
    "events": result.events,
    "quarantined": result.quarantined,
    "vm_hwm_kb": int(status["VmHWM"].split()[0]),
    "vm_peak_kb": int(status["VmPeak"].split()[0]),
}))
"""


def _good(key: str) -> bytes:
    return json.dumps({"$insert_id": key, "event_time": GOOD_TIME, "event_type": "e"}).encode()


def _gzip_member(parts, filler: bytes = b"", filler_bytes: int = 0) -> bytes:
    """A gzip stream of `parts`, with `filler_bytes` of `filler` after the first part,
    compressed as it is produced (never held inflated)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(parts[0])]
    if filler_bytes:
        piece = filler * ((16 << 20) // len(filler))
        for _ in range(filler_bytes // len(piece)):
            out.append(z.compress(piece))
    out += [z.compress(p) for p in parts[1:]]
    out.append(z.flush())
    return b"".join(out)


def _run_child(day: date, path, **env) -> dict:
    """load_day of `path` for `day` in a child process limited to CHILD_ADDRESS_SPACE;
    returns what it reports (events, quarantined, its VmHWM/VmPeak in kB)."""
    import os
    import resource
    import subprocess
    import sys
    from pathlib import Path

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))

    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, day.isoformat(), f"test/{path.name}", str(path)],
        env={**os.environ, "PYTHONPATH": str(repo), **env},
        cwd=repo,
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=500,  # under pytest-timeout (600 s): a stuck child is killed, not orphaned
    )
    assert proc.returncode == 0, f"child exited {proc.returncode}: {proc.stderr[-3000:]}"
    [line] = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    report = json.loads(line.removeprefix("RESULT "))
    print(
        f"\n{path.name}: child peak RSS (VmHWM) {report['vm_hwm_kb'] / 1024:.0f} MiB, "
        f"VmPeak {report['vm_peak_kb'] / 1024:.0f} MiB, under RLIMIT_AS "
        f"{CHILD_ADDRESS_SPACE >> 20} MiB"
    )
    assert report["vm_hwm_kb"] * 1024 < CHILD_PEAK_RSS, report
    return report


def _forget_raw(day: date) -> None:
    with pg_connect("source_db") as conn:
        for table in ("amplitude_event", "amplitude_event_property", "amplitude_quarantine"):
            conn.execute(f"delete from raw.{table} where export_day = %s", (day,))


def _quarantine(day: date):
    with pg_connect("source_db") as conn:
        return conn.execute(
            "select member, line_number, reason, length(raw_line) from raw.amplitude_quarantine "
            "where export_day = %s order by member, line_number",
            (day,),
        ).fetchall()


@pytest.mark.parametrize("filler", [b"\0", b"\n"], ids=["zeros", "newlines"])
def test_a_zip_bomb_member_is_quarantined_with_memory_bounded(tmp_path, filler):
    # ~2.3 MB of gzip that inflates to 2.25 GiB, between two good members.
    bomb = _gzip_member([_good("bomb-first") + b"\n"], filler, 9 << 28)
    assert len(bomb) < 3 << 20
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("p/a#0.json.gz", gzip.compress(_good("a1") + b"\n" + _good("a2")))
        zf.writestr("p/b#1.json.gz", bomb)
        zf.writestr("p/c#2.json.gz", gzip.compress(_good("c1") + b"\n" + _good("c2")))
    _forget_raw(BOMB_DAY)
    report = _run_child(BOMB_DAY, path)
    assert (report["events"], report["quarantined"]) == (4, 1)
    assert _raw_day(BOMB_DAY)[0] == {"a1", "a2", "c1", "c2"}  # the bomb member is left whole
    [(member, line, reason, raw_length)] = _quarantine(BOMB_DAY)
    assert (member, line, raw_length) == ("p/b#1.json.gz", None, None)
    assert reason.startswith("gzip member inflates past ") and "zip bomb" in reason
    assert f"x its {len(bomb)} bytes in the zip" in reason


def test_a_1_gib_line_is_quarantined_with_memory_bounded(tmp_path):
    huge_head = (
        b'{"$insert_id": "huge", "event_time": "' + GOOD_TIME.encode() + b'", "data": {"blob": "'
    )
    huge_tail = b'"}}'
    blob = 1 << 30
    member = _gzip_member(
        [_good("first") + b"\n" + huge_head, huge_tail + b"\n" + _good("after-huge") + b"\n"],
        b"a",
        blob,
    )
    path = tmp_path / "line.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("p/a#0.json.gz", member)
        zf.writestr("p/b#1.json.gz", gzip.compress(_good("b1") + b"\n" + _good("b2")))
    _forget_raw(LINE_DAY)
    # This member inflates ~1000x (a megabyte of gzip for the gigabyte line): the bomb bound
    # is lifted so that the line bound is what stops it.
    report = _run_child(LINE_DAY, path, AMPLITUDE_MAX_INFLATE_RATIO="100000")
    assert (report["events"], report["quarantined"]) == (4, 1)
    assert _raw_day(LINE_DAY)[0] == {"first", "after-huge", "b1", "b2"}
    [(member_name, line, reason, raw_length)] = _quarantine(LINE_DAY)
    size = len(huge_head) + blob + len(huge_tail)
    assert (member_name, line) == ("p/a#0.json.gz", 2)
    assert reason == (
        f"line of {size} bytes is over AMPLITUDE_MAX_LINE_BYTES ({4 << 20}): not parsed"
    )
    assert raw_length == 8192 + len(f" ... [8192 of {size} bytes kept]")
