"""Amplitude end to end on the local stack: two export days (the second re-sends the first
day's last hour), through raw, the lake, the warehouse staging and dbt. Expected values
come from the source server's wire, decoded here with requests/zipfile/gzip/json only."""

import gzip
import io
import json
import uuid
import zipfile
from collections import defaultdict
from datetime import date, timedelta

import pytest

from include.connections import pg_connect
from include.quality import RunContext
from tests.helpers import amplitude_export, control, request_counts

pytestmark = pytest.mark.integration
D1, D2 = date(2024, 9, 10), date(2024, 9, 11)
PROPERTY_FIELDS = ("event_properties", "user_properties", "group_properties", "groups", "data")
AMPLITUDE_MODELS = "+fct_amplitude_daily_active_users +amplitude_event_property"


def _wire_events(day: date) -> list[dict]:
    """Every event line of the day's export as the server sends it (current faults apply)."""
    out = []
    with zipfile.ZipFile(io.BytesIO(amplitude_export(day))) as zf:
        for name in zf.namelist():
            out += [
                json.loads(line)
                for line in gzip.decompress(zf.read(name)).decode().splitlines()
                if line.strip()
            ]
    return out


def _expected(days_events: list[list[dict]]):
    """Distinct events (first copy), their property rows, and DAU by day x platform x country."""
    first: dict[str, dict] = {}
    for events in days_events:
        for e in events:
            first.setdefault(e.get("$insert_id") or e["uuid"], e)
    props = sum(len(e.get(f) or {}) for e in first.values() for f in PROPERTY_FIELDS)
    users = defaultdict(set)
    for e in first.values():
        users[
            (
                date.fromisoformat(e["event_time"][:10]),
                e.get("platform") or "(unknown)",
                e.get("country") or "(unknown)",
            )
        ].add(e["amplitude_id"])
    return first, props, {k: len(v) for k, v in users.items()}


def _warehouse_day(day: date, run_id: str):
    """The warehouse DAG's steps for day D, with dbt limited to the Amplitude models."""
    from include.dbt.runner import run_dbt
    from include.lake.export import export_day
    from include.quality import raise_on_failures
    from include.warehouse import get_warehouse
    from include.warehouse.reconcile import reconcile_warehouse

    export_day(day)
    get_warehouse().load_day(day)
    results = reconcile_warehouse(RunContext(run_id, "warehouse", "reconcile", day))
    raise_on_failures(results)
    run_dbt(["build", "--select", AMPLITUDE_MODELS])
    return {r.check_name: r.status for r in results}


def _marts():
    """The marts' content for the two days (not _loaded_at, which a rerun moves on)."""
    with pg_connect("warehouse_db") as conn:
        return {
            t: conn.execute(
                f"select md5(coalesce(string_agg(x::text, ',' order by "
                f"x::text), '')), count(*) from (select {cols} from marts.{t} "
                f"where {c} between %s and %s) x",
                (D1 - timedelta(days=1), D2),
            ).fetchone()
            for t, cols, c in (
                (
                    "fct_amplitude_event",
                    "insert_id, event_time, event_date, event_type, "
                    "user_id, device_id, platform, country, export_day",
                    "export_day",
                ),
                (
                    "amplitude_event_property",
                    "insert_id, property_type, key, value, export_day",
                    "export_day",
                ),
                (
                    "fct_amplitude_daily_active_users",
                    "event_date, platform, country, active_users, events",
                    "event_date",
                ),
            )
        }


@pytest.fixture
def clean_days():
    control({})
    days = (D1, D2)
    with pg_connect("source_db") as conn:  # forget earlier runs of these days
        conn.execute("delete from raw.amplitude_event where export_day = any(%s)", (list(days),))
        conn.execute(
            "delete from lake.exports where day = any(%s) and table_name like 'amplitude%%'",
            (list(days),),
        )
    with pg_connect("warehouse_db") as conn:
        for t in ("amplitude_event", "amplitude_event_property"):
            if conn.execute("select to_regclass(%s)", (f"staging.{t}",)).fetchone()[0]:
                conn.execute(f"delete from staging.{t} where _lake_day = any(%s)", (list(days),))
        for t in ("fct_amplitude_event", "amplitude_event_property"):
            if conn.execute("select to_regclass(%s)", (f"marts.{t}",)).fetchone()[0]:
                conn.execute(f"delete from marts.{t} where export_day = any(%s)", (list(days),))
        if conn.execute("select to_regclass('marts.fct_amplitude_daily_active_users')").fetchone()[
            0
        ]:
            conn.execute(
                "delete from marts.fct_amplitude_daily_active_users where event_date "
                "between %s and %s",
                (D1 - timedelta(days=1), D2),
            )
    yield
    control({})


def test_two_days_with_a_resent_hour_reach_the_marts_once_and_a_rerun_changes_nothing(clean_days):
    from include.sources.amplitude import ingest_day as amplitude_batch

    run_id = f"test-amp-wh-{uuid.uuid4()}"
    d1_wire = _wire_events(D1)
    control({"amplitude": "resend_previous_hour"})
    d2_wire = _wire_events(D2)
    resent = {e.get("$insert_id") or e["uuid"] for e in d2_wire} & {
        e.get("$insert_id") or e["uuid"] for e in d1_wire
    }
    assert resent  # the overlap is real: D2's export carries some of D1's events
    first, props, dau = _expected([d1_wire, d2_wire])

    control({})
    amplitude_batch(D1, RunContext(run_id, "amplitude_events", "export_archive_load", D1))
    _warehouse_day(D1, run_id)
    control({"amplitude": "resend_previous_hour"})
    amplitude_batch(D2, RunContext(run_id, "amplitude_events", "export_archive_load", D2))
    statuses = _warehouse_day(D2, run_id)
    assert statuses["reconcile_raw_day_rows_amplitude_event"] == "pass"

    with pg_connect("source_db") as conn:  # raw keeps each export day whole, overlap included
        d2_raw = conn.execute(
            "select count(*) from raw.amplitude_event where export_day = %s", (D2,)
        ).fetchone()[0]
    assert d2_raw == len({e.get("$insert_id") or e["uuid"] for e in d2_wire})

    with pg_connect("warehouse_db") as conn:
        rows = conn.execute(
            "select insert_id, event_type, platform, country, user_id, event_date, export_day "
            "from marts.fct_amplitude_event where export_day in (%s, %s)",
            (D1, D2),
        ).fetchall()
        assert len(rows) == len({r[0] for r in rows})  # one row per insert_id
        assert {r[0] for r in rows} == set(first)
        for key, event_type, platform, country, user_id, event_date, _export_day in rows:
            e = first[key]
            assert (event_type, platform, country, user_id) == (
                e["event_type"],
                e["platform"],
                e["country"],
                e["user_id"],
            )
            assert event_date == date.fromisoformat(e["event_time"][:10])
        # the re-sent events keep the day they were first exported
        assert all(r[6] == D1 for r in rows if r[0] in resent)
        assert (
            conn.execute(
                "select count(*) from marts.amplitude_event_property where export_day in (%s, %s)",
                (D1, D2),
            ).fetchone()[0]
            == props
        )
        got = {
            (r[0], r[1], r[2]): r[3]
            for r in conn.execute(
                "select event_date, platform, country, active_users from "
                "marts.fct_amplitude_daily_active_users where event_date between %s and %s",
                (D1 - timedelta(days=1), D2),
            )
        }
        assert got == dau
        # one nested value, compared with the wire's
        key, e = next((k, e) for k, e in first.items() if e["event_properties"].get("item"))
        value = conn.execute(
            "select value from marts.amplitude_event_property where "
            "insert_id = %s and property_type = 'event' and key = 'item'",
            (key,),
        ).fetchone()[0]
        assert json.loads(value) == e["event_properties"]["item"]
    before = _marts()

    # Rerun D2 (same export, re-sent hour included) and D1: nothing changes downstream.
    amplitude_batch(D2, RunContext(run_id, "amplitude_events", "export_archive_load", D2))
    _warehouse_day(D2, run_id)
    control({})
    amplitude_batch(D1, RunContext(run_id, "amplitude_events", "export_archive_load", D1))
    _warehouse_day(D1, run_id)
    assert _marts() == before

    with pg_connect("source_db") as conn:
        checks = dict(
            conn.execute(
                "select check_name, status from quality.check_results where run_id = %s and "
                "dag_id = 'amplitude_events'",
                (run_id,),
            ).fetchall()
        )
    for name in (
        "amplitude_event_key_unique",
        "amplitude_insert_id_unique",
        "amplitude_event_time_in_exported_day",
        "amplitude_event_type_not_null",
    ):
        assert checks[name] == "pass", name


def test_a_day_is_reparsed_from_the_lake_archive_without_calling_amplitude(clean_days):
    from include.sources.amplitude import ingest_day as amplitude_batch

    ctx = RunContext(f"test-amp-arch-{uuid.uuid4()}", "amplitude_events", "load", D1)
    first = amplitude_batch(D1, ctx)
    control({"amplitude": "404"})  # Amplitude would now answer "no data"
    calls = request_counts().get("amplitude", 0)
    again = amplitude_batch(D1, ctx, from_archive=True)
    assert request_counts().get("amplitude", 0) == calls  # not one export call
    assert (again.loaded.events, again.loaded.properties) == (
        first.loaded.events,
        first.loaded.properties,
    )
    with pg_connect("source_db") as conn:
        assert (
            conn.execute(
                "select count(*) from raw.amplitude_event where export_day = %s", (D1,)
            ).fetchone()[0]
            == first.loaded.events
        )
    with pytest.raises(FileNotFoundError, match="no archived Amplitude export"):
        amplitude_batch(date(1999, 1, 1), ctx, from_archive=True)


def test_event_time_outside_the_day_fails_the_gx_suite_after_loading(clean_days, monkeypatch):
    from include.quality import DataQualityError
    from include.sources.amplitude import ingest_day as amplitude_batch

    # With no latency allowed, the events uploaded early on D that happened late on D-1
    # fall outside the day; the server's data has such events (upload - up to 15 min).
    wire = _wire_events(D1)
    early = [e for e in wire if e["event_time"][:10] != D1.isoformat()]
    monkeypatch.setenv("AMPLITUDE_EVENT_TIME_LATENCY_HOURS", "0")
    monkeypatch.setenv("AMPLITUDE_EVENT_TIME_MOSTLY", "1.0")
    ctx = RunContext(f"test-amp-gx-{uuid.uuid4()}", "amplitude_events", "load", D1)
    if not early:
        pytest.fail("the server's D1 has no event before midnight: pick another day")
    with pytest.raises(DataQualityError, match="amplitude_event_time_in_exported_day"):
        amplitude_batch(D1, ctx)
    with pg_connect("source_db") as conn:
        loaded = conn.execute(
            "select count(*) from raw.amplitude_event where export_day = %s", (D1,)
        ).fetchone()[0]
        status, _observed = conn.execute(
            "select status, details->>'unexpected_sample' from quality.check_results where "
            "run_id = %s and check_name = 'amplitude_event_time_in_exported_day'",
            (ctx.run_id,),
        ).fetchone()
    assert loaded > 0 and status == "fail"  # the day loaded; the check names the miss
