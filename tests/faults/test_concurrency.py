"""A backfill beside the daily run, on the real local stack.

* Three Amplitude days loaded at the same time: each day ends with exactly the events its
  export carries, as when they load one after the other.
* Three earlier days and day D, each in its own process through every source's task and
  the warehouse steps (lake export, staging load, reconciliation), all at once: every
  source table, the lake and staging hold what the four days run one after the other (on
  the same reset stack) hold, no key is twice in a day, every reconciliation passes.
  Delta tables are compared as the warehouse reads them (the latest version of each key
  over the four days): which day's file carries a row depends on when the exports ran.
  Read with SQL, boto3 and pyarrow, never with the code under test.
"""

import gzip
import io
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import date
from pathlib import Path

import pytest

from include.connections import pg_connect
from tests.helpers import amplitude_export

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DAYS = (date(2036, 7, 1), date(2036, 7, 2), date(2036, 7, 3))
LOAD = """
from datetime import date
from include.quality import RunContext
from include.sources.amplitude import ingest_day
d = date.fromisoformat("{day}")
ingest_day(d, RunContext("{run}", "amplitude_events", "export_archive_load", d))
"""


def _wire_keys(day: date) -> set[str]:
    keys = set()
    with zipfile.ZipFile(io.BytesIO(amplitude_export(day))) as zf:
        for name in zf.namelist():
            for line in gzip.decompress(zf.read(name)).decode().splitlines():
                if line.strip():
                    event = json.loads(line)
                    keys.add(event.get("$insert_id") or event["uuid"])
    return keys


def test_three_amplitude_days_loading_at_once_each_end_whole():
    run = f"test-concurrent-{uuid.uuid4()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD.format(day=d, run=run)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for d in DAYS
    ]
    outputs = [p.communicate(timeout=600)[0].decode() for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]
    with pg_connect("source_db") as conn:
        for day in DAYS:
            loaded = {
                r[0]
                for r in conn.execute(
                    "select coalesce(insert_id, uuid) from raw.amplitude_event "
                    "where export_day = %s",
                    (day,),
                )
            }
            props = conn.execute(
                "select count(distinct event_key) from raw.amplitude_event_property "
                "where export_day = %s",
                (day,),
            ).fetchone()[0]
            assert loaded == _wire_keys(day), day
            assert 0 < props <= len(loaded)


# --- a backfill of three days beside the daily run, every source and the warehouse ------

BACKFILL = (date(2044, 2, 1), date(2044, 2, 2), date(2044, 2, 3))
DAILY = date(2044, 2, 4)
ALL_DAYS = (*BACKFILL, DAILY)
DAY_RUN = """
import json, sys
from datetime import date
from tests.helpers import run_sources, run_task, warehouse_steps
d = date.fromisoformat("{day}")
out = run_sources(d, "{run}")
if not any(isinstance(v, Exception) for v in out.values()):
    for key, task_id, call in warehouse_steps(d, dbt=False):
        out[key] = run_task("warehouse", task_id, d, "{run}", call)
        if isinstance(out[key], Exception):
            break
bad = {{k: f"{{type(v).__name__}}: {{v}}" for k, v in out.items() if isinstance(v, Exception)}}
print("OUTCOME " + json.dumps({{"failed": bad, "steps": sorted(out)}}), flush=True)
sys.exit(1 if bad else 0)
"""
# Raw tables of the days, without load clocks and batch ids.
RAW_DAY_TABLES = {
    "raw.states_page": ("logical_date", ("batch_id", "loaded_at")),
    "raw.census_state": ("logical_date", ("batch_id", "loaded_at")),
    "raw.census_county_population": ("logical_date", ("batch_id", "loaded_at")),
    "raw.batches": ("logical_date", ("batch_id", "loaded_at")),
    "raw.yelp_search": ("logical_date", ("loaded_at",)),
    "raw.yelp_review": ("logical_date", ("loaded_at",)),
    "raw.yelp_quarantine": ("logical_date", ("loaded_at",)),
    "yelp.progress": ("logical_date", ("updated_at",)),
    "raw.amplitude_event": ("export_day", ("loaded_at",)),
    "raw.amplitude_event_property": ("export_day", ()),
    "raw.amplitude_quarantine": ("export_day", ("loaded_at",)),
    "raw.landed_days": ("day", ("landed_at",)),
}


def _run_days(days, run: str, logs: Path) -> None:
    """Each day in its own process, all at once, each writing its output to a file (a
    pipe nobody reads would stall a talkative child); every one must succeed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    for d in days:
        out = open(logs / f"{run}-{d}.log", "wb")  # noqa: SIM115 - closed below
        procs.append(
            (
                d,
                out,
                subprocess.Popen(
                    [sys.executable, "-c", DAY_RUN.format(day=d, run=f"{run}-{d}")],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                ),
            )
        )
    deadline = time.monotonic() + 600
    for _d, out, proc in procs:
        try:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            out.close()
    for d, out, proc in procs:
        text = Path(out.name).read_text(errors="replace")
        outcome = [line for line in text.splitlines() if line.startswith("OUTCOME ")]
        assert proc.returncode == 0, (d, outcome or text[-3000:])


def _primary_keys(conn, schema: str) -> dict[str, list[str]]:
    """{table: primary key columns} of a schema, from the catalog."""
    rows = conn.execute(
        "select c.relname, a.attname from pg_index i join pg_class c on c.oid = i.indrelid "
        "join pg_namespace n on n.oid = c.relnamespace "
        "join lateral unnest(i.indkey) with ordinality k(attnum, pos) on true "
        "join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum "
        "where n.nspname = %s and i.indisprimary order by c.relname, k.pos",
        (schema,),
    ).fetchall()
    keys: dict[str, list[str]] = {}
    for table, column in rows:
        keys.setdefault(table, []).append(column)
    return keys


def _lake_days() -> dict[str, dict[date, list[dict]]]:
    """{table: {day: rows}} of the postgres-stream lake objects of the four days, read with
    a plain boto3 client and pyarrow."""
    import boto3
    import pyarrow.parquet as pq

    lake = json.loads(os.environ["AIRFLOW_CONN_LAKE_S3"])
    bucket, _, prefix = lake["extra"]["lake_uri"].removeprefix("s3://").partition("/")
    s3 = boto3.client(
        "s3",
        endpoint_url=lake["extra"]["endpoint_url"],
        aws_access_key_id=lake["login"],
        aws_secret_access_key=lake["password"],
        region_name=lake["extra"].get("region_name"),
    )
    out: dict[str, dict[date, list[dict]]] = {}
    for day in ALL_DAYS:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{prefix.strip('/')}/postgres/"
        ):
            for obj in page.get("Contents", []):
                if f"/dt={day.isoformat()}/" not in obj["Key"]:
                    continue
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                table = obj["Key"].split("/")[-3]
                out.setdefault(table, {})[day] = pq.read_table(io.BytesIO(body)).to_pylist()
    return out


def _staging_days(tables) -> dict[str, dict[date, list[dict]]]:
    with pg_connect("warehouse_db") as conn:
        return {
            t: {
                day: [
                    r[0]
                    for r in conn.execute(
                        f"select to_jsonb(s) - '_loaded_at' - '_lake_day' from staging.\"{t}\" s "
                        "where _lake_day = %s",
                        (day,),
                    )
                ]
                for day in ALL_DAYS
            }
            for t in tables
        }


def _norm(row: dict) -> str:
    """A row as comparable text: values as JSON text, timestamps and numbers alike."""
    return json.dumps({k: str(v) for k, v in row.items()}, sort_keys=True)


def _projection(days: dict[date, list[dict]], key: list[str] | None) -> dict:
    """What a set of day files/staging days says. A day table (no key here: exported whole
    per day) as its rows per day; a delta table as its latest version per key over the
    days (latest updated_at), without updated_at; and any key twice in one day."""
    if key is None:
        return {"days": {d: sorted(map(_norm, rows)) for d, rows in days.items()}}
    latest: dict[tuple, dict] = {}
    twice = []
    for day, rows in days.items():
        seen = set()
        for row in rows:
            k = tuple(str(row[c]) for c in key)
            if k in seen:
                twice.append((day, k))
            seen.add(k)
            if k not in latest or str(row["updated_at"]) > str(latest[k]["updated_at"]):
                latest[k] = row
    current = sorted(
        _norm({c: v for c, v in r.items() if c != "updated_at"}) for r in latest.values()
    )
    return {"current": current, "keys_twice_in_a_day": twice}


def _state() -> dict:
    """Every source table (OLTP whole, raw for the four days), the lake objects and staging
    of the four days, as projections read with SQL, boto3 and pyarrow."""
    from tests.helpers import rows_md5

    with pg_connect("source_db") as conn:
        oltp_keys = _primary_keys(conn, "oltp")
        state = {f"oltp.{t}": rows_md5(conn, f"oltp.{t}", drop=("updated_at",)) for t in oltp_keys}
        for table, (column, drop) in RAW_DAY_TABLES.items():
            state[table] = rows_md5(conn, table, f"{column} = any(%s)", (list(ALL_DAYS),), drop)
        state["raw.yelp_business_move"] = rows_md5(
            conn, "raw.yelp_business_move", drop=("loaded_at",)
        )
    lake = _lake_days()
    state["lake_tables"] = sorted(lake)
    state["lake_days"] = {t: sorted(days) for t, days in lake.items()}
    for table, days in lake.items():
        state[f"lake.{table}"] = _projection(days, oltp_keys.get(table))
    for table, days in _staging_days(lake).items():
        state[f"staging.{table}"] = _projection(days, oltp_keys.get(table))
    return state


def _reset_days() -> None:
    """Back to before the four days: every Yelp day (tests.helpers.reset_yelp), and the
    four days' raw batches, Amplitude days, lake objects, lake.exports rows and staging."""
    from tests.helpers import reset_yelp

    reset_yelp()
    days = list(ALL_DAYS)
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute("delete from raw.batches where logical_date = any(%s)", (days,))
        for table in ("amplitude_event", "amplitude_event_property", "amplitude_quarantine"):
            conn.execute(f"delete from raw.{table} where export_day = any(%s)", (days,))
        conn.execute("delete from raw.landed_days where day = any(%s)", (days,))
        conn.execute("delete from lake.exports where day = any(%s)", (days,))
    with pg_connect("warehouse_db", autocommit=True) as conn:
        for (table,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'staging'"
        ).fetchall():
            conn.execute(f'delete from staging."{table}" where _lake_day = any(%s)', (days,))
    import boto3

    lake = json.loads(os.environ["AIRFLOW_CONN_LAKE_S3"])
    bucket, _, _prefix = lake["extra"]["lake_uri"].removeprefix("s3://").partition("/")
    s3 = boto3.client(
        "s3",
        endpoint_url=lake["extra"]["endpoint_url"],
        aws_access_key_id=lake["login"],
        aws_secret_access_key=lake["password"],
        region_name=lake["extra"].get("region_name"),
    )
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            if any(f"/dt={d.isoformat()}/" in obj["Key"] for d in ALL_DAYS):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])


def _reconcile_checks(run: str) -> dict:
    """{day's run id: {status: checks}} of the reconciliation rows the runs recorded."""
    out: dict = {}
    with pg_connect("source_db") as conn:
        for run_id, status, n in conn.execute(
            "select run_id, status, count(*) from quality.check_results where run_id like %s "
            "and check_name like 'reconcile%%' group by 1, 2",
            (f"{run}-%",),
        ):
            out.setdefault(run_id, {})[status] = n
    return out


def test_a_backfill_of_three_days_beside_the_daily_run_holds_what_four_sequential_runs_hold(
    tmp_path,
):
    from tests.helpers import control

    control({})
    _reset_days()
    sequential = f"test-seq-{uuid.uuid4()}"
    for day in ALL_DAYS:
        _run_days([day], sequential, tmp_path)
    reference = _state()
    assert {tuple(d) for d in reference["lake_days"].values()} == {ALL_DAYS}, reference["lake_days"]
    assert len(reference["lake.business_holding"]["current"]) > len(reference["oltp.business"])
    assert all(reference["staging.amplitude_event"]["days"].values())  # every day has events

    _reset_days()
    concurrent = f"test-conc-{uuid.uuid4()}"
    _run_days(ALL_DAYS, concurrent, tmp_path)
    state = _state()
    differing = {k: (state.get(k), reference[k]) for k in reference if state.get(k) != reference[k]}
    assert not differing, {k: str(v)[:600] for k, v in differing.items()}
    twice = {
        k: v["keys_twice_in_a_day"]
        for k, v in state.items()
        if isinstance(v, dict) and v.get("keys_twice_in_a_day")
    }
    assert not twice, twice  # no key twice in one day's lake file or staging day
    checks = _reconcile_checks(concurrent)
    assert sorted(checks) == [f"{concurrent}-{d}" for d in ALL_DAYS], checks  # each reconciled
    assert all(set(c) == {"pass"} for c in checks.values()), checks


def test_a_row_a_source_commits_after_the_export_does_not_fail_the_reconciliation():
    """What a source run beside the warehouse does, made deterministic: day D exported,
    staged and reconciled, then a new OLTP row committed (another day's run) before D's
    reconciliation runs again. The row is not lost (no export has sent it yet), so the
    check passes; a staged row that goes missing still fails it."""
    from include.lake.export import export_day
    from include.quality import RunContext
    from include.warehouse import load_days
    from include.warehouse.reconcile import reconcile_warehouse

    day = date(2044, 3, 1)
    ctx = RunContext(f"test-reconcile-{uuid.uuid4()}", "warehouse", "reconcile", day)

    def forget_test_states():
        with pg_connect("source_db", autocommit=True) as conn:
            conn.execute("delete from oltp.state where state_code in ('QA', 'QB')")
        with pg_connect("warehouse_db", autocommit=True) as wh:
            if wh.execute("select to_regclass('staging.state')").fetchone()[0]:
                wh.execute("delete from staging.state where state_code in ('QA', 'QB')")

    forget_test_states()
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute("insert into oltp.state values ('QA', 'Test State One', false)")
    export_day(day)
    load_days([day])

    def state_check():
        with pg_connect("source_db") as conn:
            rows = conn.execute("select count(*) from oltp.state").fetchone()[0]
        found = [r for r in reconcile_warehouse(ctx) if r.check_name == "reconcile_row_count_state"]
        return found[0], rows

    try:
        check, rows = state_check()
        assert (check.status, check.observed) == ("pass", rows), check  # in step
        with pg_connect("source_db", autocommit=True) as conn:  # a source commits a new row
            conn.execute("insert into oltp.state values ('QB', 'Test State Two', false)")
        check, rows = state_check()
        assert (check.status, check.observed) == ("pass", rows - 1), check
        with pg_connect("warehouse_db", autocommit=True) as wh:  # a staged state is lost
            lost = wh.execute(
                "delete from staging.state where state_code = "
                "(select min(state_code) from staging.state where state_code <> 'QA') "
                "returning *"
            ).fetchall()
            columns = [
                c.name for c in wh.execute("select * from staging.state limit 0").description
            ]
            try:
                assert lost
                check, rows = state_check()
                assert (check.status, check.observed) == ("fail", rows - 2), check
            finally:
                with wh.cursor() as cur:
                    cur.executemany(
                        f"insert into staging.state ({', '.join(columns)}) "
                        f"values ({', '.join(['%s'] * len(columns))})",
                        lost,
                    )
    finally:
        forget_test_states()
