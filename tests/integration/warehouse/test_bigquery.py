"""WAREHOUSE=bigquery end to end on the local emulators (bqemulator + gcp-storage-emulator,
started by `make test`): the same pipeline steps, staging through GCS into BigQuery, dbt on
the BigQuery target, marts asserted against values computed from the source server's data."""

import io
import uuid
from datetime import UTC, date, datetime

import pytest
import requests

from include.connections import get_connection, pg_connect
from local import config as cfg
from tests.helpers import amplitude_export

pytestmark = pytest.mark.integration
DAY = date(2024, 5, 2)


def _assert_emulators_listening():
    import socket

    for name, port in (("bigquery", cfg.BQ_REST_PORT), ("gcs", cfg.GCS_PORT)):
        with socket.socket() as sock:  # fail fast: the client would retry for 10 minutes
            sock.settimeout(1)
            assert sock.connect_ex((cfg.HOST, port)) == 0, (
                f"{name} emulator not listening on {cfg.HOST}:{port}: run `make emulators` "
                "(make test starts it)"
            )


@pytest.fixture(scope="module", autouse=True)
def _empty_bigquery_staging():
    """This module's BigQuery target starts as a new deployment does: no staging, no
    watermark of its own (the PostgreSQL target's runs before it keep theirs). Other tests
    of this shared stack delete OLTP rows to start clean, and deletes never reach a
    warehouse (the pipeline itself never deletes), so a staging left from an earlier
    session would count keys the OLTP no longer has."""
    import os

    _assert_emulators_listening()
    saved = {k: os.environ.get(k) for k in ("WAREHOUSE", *cfg.emulator_settings())}
    os.environ.update({"WAREHOUSE": "bigquery", **cfg.emulator_settings()})
    try:
        from include.warehouse.bigquery import STAGING_DATASET, clients

        settings, bq, _ = clients()
        bq.delete_dataset(
            f"{settings.project}.{STAGING_DATASET}", delete_contents=True, not_found_ok=True
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute("delete from lake.exports where target = 'bigquery'")


@pytest.fixture
def bigquery(monkeypatch):
    _assert_emulators_listening()
    monkeypatch.setenv("WAREHOUSE", "bigquery")
    for key, value in cfg.emulator_settings().items():
        monkeypatch.setenv(key, value)
    from include.warehouse.bigquery import clients

    settings, bq, _ = clients()
    return settings, bq


def _rows(bq, sql):
    return [tuple(r.values()) for r in bq.query(sql).result()]


def _census(params):
    conn = get_connection("census_api")
    return requests.get(
        f"{conn.host}/data/2019/pep/population", params={**params, "key": conn.password}, timeout=30
    ).json()


def _marts(bq, project):
    out = {
        t: sorted(map(repr, _rows(bq, f"select * from `{project}.marts.{t}`")))
        for t in ("dim_state", "dim_county", "fct_county_population")
    }
    out["fct_amplitude_event"] = sorted(
        map(
            repr,
            _rows(
                bq,
                f"select insert_id, event_time, event_date, event_type, user_id, device_id, "
                f"platform, country from `{project}.marts.fct_amplitude_event`",
            ),
        )
    )
    out["fct_amplitude_daily_active_users"] = sorted(
        map(
            repr,
            _rows(
                bq,
                f"select event_date, platform, country, active_users, events "
                f"from `{project}.marts.fct_amplitude_daily_active_users`",
            ),
        )
    )
    return out


def _amplitude_wire_keys(day) -> set[str]:
    """The distinct event keys of the day's export, decoded here (no project code)."""
    import gzip
    import io
    import json
    import zipfile

    keys = set()
    with zipfile.ZipFile(io.BytesIO(amplitude_export(day))) as zf:
        for name in zf.namelist():
            for line in gzip.decompress(zf.read(name)).decode().splitlines():
                event = json.loads(line)
                keys.add(event.get("$insert_id") or event["uuid"])
    return keys


def _load_jobs(bq, since):
    return [
        j.job_id
        for j in bq.list_jobs(max_results=1000)
        if j.job_id.startswith("elt_load_")
        and f"_{DAY:%Y%m%d}_" in j.job_id
        and j.created
        and j.created >= since
    ]


def test_pipeline_on_bigquery_builds_the_marts_and_a_rerun_changes_nothing(bigquery):
    from tests.helpers import failures, run_day

    settings, bq = bigquery
    project = settings.project
    started = datetime.now(UTC)
    run_id = f"test-bq-{uuid.uuid4()}"
    outcome = run_day(DAY, run_id=run_id)
    assert not failures(outcome), failures(outcome)

    # One load job per table for the run (the 1,500 load jobs/table/day quota).
    jobs = _load_jobs(bq, started)
    per_table = {
        t: sum(1 for j in jobs if j.startswith(f"elt_load_{t}_{DAY:%Y%m%d}_"))
        for t in (
            "state",
            "census_state",
            "county",
            "county_population",
            "amplitude_event_property",
        )
    }
    assert per_table == {
        "state": 1,
        "census_state": 1,
        "county": 1,
        "county_population": 1,
        "amplitude_event_property": 1,
    }

    counties = _census({"get": "NAME,POP,DATE_CODE", "for": "county:*", "in": "state:*"})[1:]
    states = _census({"get": "NAME", "for": "state:*"})[1:]
    pop_2019 = {r[3] + r[4]: int(r[1]) for r in counties if r[2] == "12"}
    fips_by_name = {name: fips for name, fips in states}

    dim_state = {
        r[0]: r[1:]
        for r in _rows(
            bq,
            f"select state_code, state_fips, state_name, is_state from `{project}.marts.dim_state`",
        )
    }
    assert len(dim_state) == 56
    assert sum(1 for v in dim_state.values() if v[2]) == 51
    assert dim_state["PR"] == ("72", "Puerto Rico", False)
    assert dim_state["NM"][0] == fips_by_name["New Mexico"]
    got = dict(
        _rows(
            bq,
            f"select c.county_fips, f.population from "
            f"`{project}.marts.fct_county_population` f join "
            f"`{project}.marts.dim_county` c on c.county_key = f.county_key "
            f"where f.population_year = 2019",
        )
    )
    assert got == pop_2019

    # Amplitude: one row per distinct event of the day's export, partitioned by event_date.
    keys = _amplitude_wire_keys(DAY)
    assert (
        set(
            r[0]
            for r in _rows(
                bq,
                f"select insert_id from "
                f"`{project}.marts.fct_amplitude_event` "
                f"where export_day = '{DAY.isoformat()}'",
            )
        )
        == keys
    )
    assert (
        bq.get_table(f"{project}.marts.fct_amplitude_event").time_partitioning.field == "event_date"
    )

    with pg_connect("source_db") as conn:
        rows = dict(
            conn.execute(
                "select check_name, status from quality.check_results where run_id = %s and "
                "(check_name like 'reconcile_%%' or check_name like 'dbt:%%')",
                (run_id,),
            ).fetchall()
        )
    assert rows["reconcile_row_count_county_population"] == "pass"
    assert rows["reconcile_population_sum"] == "pass"
    assert sum(1 for k in rows if k.startswith("dbt:")) >= 20
    assert set(rows.values()) == {"pass"}, {k: v for k, v in rows.items() if v != "pass"}

    before = _marts(bq, project)
    staged = _rows(
        bq,
        f"select count(*) from `{project}.staging.county_population` "
        f"where _lake_day = '{DAY.isoformat()}'",
    )
    snap = _rows(bq, f"select count(*) from `{project}.snapshots.snap_county`")
    second = run_day(DAY, run_id=f"test-bq-{uuid.uuid4()}")
    assert not failures(second), failures(second)
    assert _marts(bq, project) == before
    assert (
        _rows(
            bq,
            f"select count(*) from `{project}.staging.county_population` "
            f"where _lake_day = '{DAY.isoformat()}'",
        )
        == staged
    )  # day replaced
    assert _rows(bq, f"select count(*) from `{project}.snapshots.snap_county`") == snap


def test_schema_drift_in_the_lake_fails_clearly_and_leaves_staging_alone(bigquery):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from include.lake import TABLES, lake_location, object_key
    from include.warehouse.bigquery import BigQueryWarehouse, SchemaDriftError

    settings, bq = bigquery
    drift_day = date(1999, 12, 31)
    assert "capital" not in dict(next(t for t in TABLES if t.name == "state").columns)
    table = pa.table(
        {
            "state_code": ["ZZ"],
            "state_name": ["Nowhere"],
            "is_state": [True],
            "updated_at": pa.array(
                [datetime(2024, 1, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC")
            ),
            "capital": ["Nowhere City"],
        }
    )  # a column the registry does not have
    buf = io.BytesIO()
    pq.write_table(table, buf)
    s3, bucket, prefix = lake_location()
    key = object_key(prefix, "state", drift_day)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    try:
        before = _rows(bq, f"select count(*) from `{settings.project}.staging.state`")
        with pytest.raises(SchemaDriftError, match="capital"):
            BigQueryWarehouse().load_day(drift_day)
        assert _rows(bq, f"select count(*) from `{settings.project}.staging.state`") == before
    finally:
        s3.delete_object(Bucket=bucket, Key=key)


def test_a_day_missing_from_the_lake_is_a_clear_error(bigquery):
    from include.warehouse.bigquery import BigQueryWarehouse

    with pytest.raises(FileNotFoundError, match="run the lake export"):
        BigQueryWarehouse().load_day(date(1901, 1, 1))


def test_the_same_dags_run_unchanged_on_bigquery(bigquery, monkeypatch):
    """`make run` with WAREHOUSE=bigquery: every DAG through dag.test(), the warehouse DAG's
    cosmos tasks on the BigQuery profile built from google_cloud_default."""
    from local.run import run_dags

    monkeypatch.setenv("ELT_TASK_RETRIES", "0")
    monkeypatch.setenv("ELT_DBT_POKE_SECONDS", "1")
    settings, bq = bigquery
    day = date(2024, 5, 3)
    outcome = run_dags(day)
    assert {d: o["state"] for d, o in outcome.items()} == {
        "states_page": "success",
        "census_population": "success",
        "yelp_businesses": "success",
        "amplitude_events": "success",
        "warehouse": "success",
        "alerts_drain": "success",
    }
    with pg_connect("source_db") as conn:
        dbt_rows = conn.execute(
            "select count(*), count(*) filter (where status = 'pass') from quality.check_results "
            "where run_id = %s and check_name like 'dbt:%%'",
            (outcome["warehouse"]["run_id"],),
        ).fetchone()
    assert dbt_rows[0] >= 20 and dbt_rows[0] == dbt_rows[1]
    assert _rows(bq, f"select count(*) from `{settings.project}.marts.dim_state`") == [(56,)]


def test_a_failed_load_job_names_the_job_and_leaves_staging_alone(bigquery, monkeypatch):
    from include.warehouse.bigquery import BigQueryWarehouse, WarehouseLoadError

    settings, bq = bigquery
    missing = f"gs://{settings.bucket}/does-not-exist/{uuid.uuid4()}.parquet"
    # The staging step is bypassed so the load job itself meets a file that is not there.
    monkeypatch.setattr(BigQueryWarehouse, "_stage_to_gcs", lambda self, *a, **k: [missing])
    before = _rows(
        bq,
        f"select _lake_day, count(*) from `{settings.project}.staging.state` group by 1 order by 1",
    )
    with pytest.raises(WarehouseLoadError) as err:
        BigQueryWarehouse().load_day(DAY)
    assert f"elt_load_state_{DAY:%Y%m%d}_" in str(err.value)  # the job id, for the console
    assert "load of state" in str(err.value)
    assert (
        _rows(
            bq,
            f"select _lake_day, count(*) from `{settings.project}.staging.state` "
            "group by 1 order by 1",
        )
        == before
    )


def test_a_day_load_that_fails_midway_changes_no_staging_table(bigquery):
    """BigQuery staging holds a day whole or not at all: a load that fails on its fifth
    table (a drifted lake file) leaves the tables before it as they were."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from include.lake import TABLES, lake_location, object_key
    from include.warehouse.bigquery import BigQueryWarehouse, SchemaDriftError
    from tests.helpers import failures, run_day

    settings, bq = bigquery
    day = date(2024, 5, 4)
    assert not failures(outcome := run_day(day, run_id=f"test-bq-{uuid.uuid4()}")), outcome

    def staged():
        return {
            t.name: _rows(
                bq,
                f"select count(*), max(_loaded_at) from `{settings.project}.staging.{t.name}` "
                f"where _lake_day = '{day}'",
            )
            for t in TABLES
        }

    before = staged()
    s3, bucket, prefix = lake_location()
    key = object_key(prefix, TABLES[4].name, day)
    original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    buf = io.BytesIO()
    pq.write_table(pa.table({"surprise": ["a drifted file"]}), buf)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    try:
        with pytest.raises(SchemaDriftError):
            BigQueryWarehouse().load_day(day)
    finally:
        s3.put_object(Bucket=bucket, Key=key, Body=original)
    assert staged() == before
