"""Warehouse (local PostgreSQL) staging load: idempotent per day, reconciled, drift-safe."""

import io
import uuid
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.connections import pg_connect
from include.lake import lake_location, object_key
from include.warehouse.postgres import PostgresWarehouse, SchemaDriftError
from tests.helpers import failures, run_day

pytestmark = pytest.mark.integration
DAY = date(2032, 7, 4)


def _staging(conn):
    return conn.execute(
        "select count(*), sum(population) from staging.county_population where _lake_day = %s",
        (DAY,),
    ).fetchone()


def test_staging_matches_the_lake_file_and_a_rerun_changes_nothing():
    run_id = f"test-{uuid.uuid4()}"
    outcome = run_day(DAY, run_id=run_id)
    assert not failures(outcome), failures(outcome)
    s3, bucket, prefix = lake_location()
    lake = pq.read_table(
        io.BytesIO(
            s3.get_object(Bucket=bucket, Key=object_key(prefix, "county_population", DAY))[
                "Body"
            ].read()
        )
    )
    expected = (lake.num_rows, sum(v for v in lake.column("population").to_pylist() if v) or None)
    with pg_connect("warehouse_db") as conn:
        assert _staging(conn) == expected
    with pg_connect("source_db") as conn:
        statuses = dict(
            conn.execute(
                "select check_name, status from quality.check_results "
                "where run_id = %s and dag_id = 'warehouse'",
                (run_id,),
            ).fetchall()
        )
    assert statuses and set(statuses.values()) == {"pass"}
    assert "reconcile_population_sum" in statuses

    PostgresWarehouse().load_day(DAY)  # reload the same day
    with pg_connect("warehouse_db") as conn:
        assert _staging(conn) == expected


def test_reconciliation_fails_when_the_warehouse_lost_rows(monkeypatch):
    from include.quality import RunContext
    from include.warehouse.reconcile import reconcile_warehouse

    # No load in flight: every exported window is settled, so the count must be exact.
    # (Earlier tests export days they never stage; within ELT_RECONCILE_IN_FLIGHT_MINUTES
    # those windows are a load still to come and the check accepts a range.)
    monkeypatch.setenv("ELT_RECONCILE_IN_FLIGHT_MINUTES", "0")

    run_day(DAY, run_id=f"test-{uuid.uuid4()}")
    with pg_connect("warehouse_db", autocommit=True) as conn:
        conn.execute(
            "create temp table lost as select * from staging.county where "
            "county_fips = (select min(county_fips) from staging.county)"
        )
        conn.execute(
            "delete from staging.county where county_fips in (select county_fips from lost)"
        )
        try:
            results = {
                r.check_name: r
                for r in reconcile_warehouse(
                    RunContext(f"test-{uuid.uuid4()}", "warehouse", "reconcile", DAY)
                )
            }
        finally:
            conn.execute("insert into staging.county select * from lost")
    assert results["reconcile_row_count_county"].status == "fail"
    assert (
        int(results["reconcile_row_count_county"].observed)
        == int(results["reconcile_row_count_county"].expected) - 1
    )


def test_schema_drift_in_a_lake_file_fails_clearly():
    s3, bucket, prefix = lake_location()
    day = date(2033, 1, 1)
    table = pa.table(
        {
            "state_code": ["AL"],
            "state_name": ["Alabama"],
            "is_state": [True],
            "updated_at": pa.array([0], pa.timestamp("us", tz="UTC")),
            "surprise": ["new column"],
        }
    )
    for name in ("state", "census_state", "county", "county_population"):
        buf = io.BytesIO()
        pq.write_table(table, buf)
        s3.put_object(Bucket=bucket, Key=object_key(prefix, name, day), Body=buf.getvalue())
    with pytest.raises(SchemaDriftError, match="surprise"):
        PostgresWarehouse().load_day(day)


def test_day_reconciliation_catches_a_changed_value_in_staging():
    """A staged population off by one for a day: the day's row count still matches the
    export, the checksum recomputed from the OLTP rows of the export window does not."""
    from include.quality import RunContext
    from include.warehouse.reconcile import reconcile_warehouse

    run_day(DAY, run_id=f"test-{uuid.uuid4()}")
    with pg_connect("source_db") as src:
        exported = {
            r[0]
            for r in src.execute(
                "select day from lake.exports where table_name = 'county_population' "
                "and row_count > 0"
            )
        }
    with pg_connect("warehouse_db", autocommit=True) as conn:
        staged = {
            r[0] for r in conn.execute("select distinct _lake_day from staging.county_population")
        }
        day = max(exported & staged)
        fips, year = conn.execute(
            "select county_fips, population_year from staging.county_population "
            "where _lake_day = %s and population is not null limit 1",
            (day,),
        ).fetchone()
        bump = (
            "update staging.county_population set population = population + %s "
            "where _lake_day = %s and county_fips = %s and population_year = %s"
        )
        conn.execute(bump, (1, day, fips, year))
        try:
            results = {
                r.check_name: r
                for r in reconcile_warehouse(
                    RunContext(f"test-{uuid.uuid4()}", "warehouse", "reconcile", day)
                )
            }
        finally:
            conn.execute(bump, (-1, day, fips, year))
    assert results["reconcile_day_rows_county_population"].status == "pass"
    day_sum = results["reconcile_day_population_sum"]
    assert day_sum.status == "fail"
    assert int(day_sum.observed) == int(day_sum.expected) + 1


def test_a_day_load_that_fails_midway_changes_no_table():
    """Staging holds a day whole or not at all: a load that fails on its fifth table (a
    drifted lake file) leaves the four tables before it as they were."""
    from include.lake import TABLES

    run_day(DAY, run_id=f"test-{uuid.uuid4()}")
    s3, bucket, prefix = lake_location()
    with pg_connect("warehouse_db") as conn:
        before = {
            t.name: conn.execute(
                f"select count(*), max(_loaded_at) from staging.{t.name} where _lake_day = %s",
                (DAY,),
            ).fetchone()
            for t in TABLES
        }
    fifth = TABLES[4].name
    key = object_key(prefix, fifth, DAY)
    original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    buf = io.BytesIO()
    pq.write_table(pa.table({"surprise": ["a drifted file"]}), buf)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    try:
        with pytest.raises(SchemaDriftError):
            PostgresWarehouse().load_day(DAY)
    finally:
        s3.put_object(Bucket=bucket, Key=key, Body=original)
    with pg_connect("warehouse_db") as conn:
        after = {
            t.name: conn.execute(
                f"select count(*), max(_loaded_at) from staging.{t.name} where _lake_day = %s",
                (DAY,),
            ).fetchone()
            for t in TABLES
        }
    assert after == before
