"""The PostgreSQL warehouse's staging schema comes from versioned migrations
(include/warehouse/migrations/W<NNN>__*.sql), applied by `python -m include.migrations`
and by the load when pending; the load refuses when a staging table differs from the lake
registry. Each test runs on a scratch database (and, where it adds a migration, a scratch
copy of the migrations folder); the expected columns are the registry's (each source's
lake.py), typed here by this test's own mapping."""

import io
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.connections import pg_connect
from include.lake import TABLES, lake_location, lake_table, object_key
from include.migrations import MigrationSet, migrate_set
from include.warehouse import SchemaDriftError
from include.warehouse.postgres import STAGING_MIGRATIONS, PostgresWarehouse

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
# Registry (Arrow) type -> information_schema.columns.data_type.
CATALOG_TYPE = {
    "string": "text",
    "bool": "boolean",
    "int16": "smallint",
    "int64": "bigint",
    "float64": "double precision",
    "date": "date",
    "timestamp": "timestamp with time zone",
}


def _columns(conn_id: str) -> dict[str, dict[str, str]]:
    with pg_connect(conn_id) as conn:
        rows = conn.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'staging' order by table_name, ordinal_position"
        ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        found.setdefault(table, {})[column] = data_type
    return found


def _history(conn_id: str, table: str) -> list[str]:
    with pg_connect(conn_id) as conn:
        return [r[0] for r in conn.execute(f"select version from {table} order by version")]


def _scratch_set(folder: Path) -> MigrationSet:
    """The staging migrations, copied to `folder` (where a test adds its own file)."""
    for path in STAGING_MIGRATIONS.directory.glob("W*.sql"):
        shutil.copy(path, folder)
    return replace(STAGING_MIGRATIONS, directory=folder)


def _put_lake_file(table, day: date, data: pa.Table) -> str:
    s3, bucket, prefix = lake_location()
    key = object_key(prefix, table.name, day)
    buf = io.BytesIO()
    pq.write_table(data, buf)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    return key


def test_the_staging_migrations_build_exactly_the_registered_lake_tables(scratch_database):
    """Every lake table of every source's lake.py is a staging table with exactly its
    columns (and types), plus _lake_day and _loaded_at, and a BRIN index on _lake_day
    (W002; no btree on it is left): a column added to a lake.py without a migration fails
    here."""
    applied = migrate_set(STAGING_MIGRATIONS, scratch_database)
    assert applied == [p.name for p in sorted(STAGING_MIGRATIONS.directory.glob("W*.sql"))]
    expected = {
        t.name: {c: CATALOG_TYPE[ty] for c, ty in t.columns}
        | {"_lake_day": "date", "_loaded_at": "timestamp with time zone"}
        for t in TABLES
    }
    assert _columns(scratch_database) == expected
    with pg_connect(scratch_database) as conn:
        indexed = set(
            conn.execute(
                "select tablename, indexdef like '%% USING brin (_lake_day)%%' "
                "from pg_indexes where schemaname = 'staging' and indexdef like '%%(_lake_day)%%'"
            ).fetchall()
        )
        not_null = set(
            conn.execute(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = 'staging' and is_nullable = 'NO'"
            ).fetchall()
        )
    assert indexed == {(t, True) for t in expected}
    assert not_null == {(t, c) for t in expected for c in ("_lake_day", "_loaded_at")}
    assert migrate_set(STAGING_MIGRATIONS, scratch_database) == []  # applied once


def test_a_new_lake_column_reaches_staging_through_a_new_migration_file(scratch_database, tmp_path):
    """A column added to a lake table plus a migration adding it: the load applies the
    pending file itself and the column's values land; nothing ran an ALTER by hand."""
    migrations = _scratch_set(tmp_path)
    migrate_set(migrations, scratch_database)  # the warehouse as deployed before the change
    state = lake_table("state")
    grown = replace(state, columns=state.columns + (("capital", "string"),))
    (tmp_path / "W900__state_capital.sql").write_text(
        "alter table staging.state add column capital text;\n"
    )
    day = date(2041, 5, 6)
    data = pa.table(
        {
            "state_code": ["NM", "VT"],
            "state_name": ["New Mexico", "Vermont"],
            "is_state": [True, True],
            "updated_at": pa.array([0, 0], pa.timestamp("us", tz="UTC")),
            "capital": ["Santa Fe", "Montpelier"],
        },
        schema=grown.arrow_schema(),
    )
    key = _put_lake_file(grown, day, data)
    try:
        loaded = PostgresWarehouse(scratch_database, migrations, (grown,)).load_day(day)
        again = PostgresWarehouse(scratch_database, migrations, (grown,)).load_day(day)
    finally:
        s3, bucket, _ = lake_location()
        s3.delete_object(Bucket=bucket, Key=key)
    assert loaded == again == {"state": 2}
    assert _history(scratch_database, migrations.table)[-1] == "W900__state_capital.sql"
    assert _columns(scratch_database)["state"]["capital"] == "text"
    with pg_connect(scratch_database) as conn:
        rows = conn.execute(
            "select state_code, capital, _lake_day from staging.state order by 1"
        ).fetchall()
    assert rows == [("NM", "Santa Fe", day), ("VT", "Montpelier", day)]


def test_a_staging_table_missing_a_column_is_refused_before_anything_loads(scratch_database):
    """staging.state without is_state (provisioned by hand, or by an older load): the load
    refuses, naming the table and the column, instead of failing inside COPY."""
    with pg_connect(scratch_database, autocommit=True) as conn:
        conn.execute("create schema staging")
        conn.execute(
            "create table staging.state (state_code text, state_name text, "
            "updated_at timestamptz, _lake_day date not null, "
            "_loaded_at timestamptz not null default now())"
        )
    state = lake_table("state")
    day = date(2041, 5, 7)
    key = _put_lake_file(
        state,
        day,
        pa.table(
            {
                "state_code": ["NM"],
                "state_name": ["New Mexico"],
                "is_state": [True],
                "updated_at": pa.array([0], pa.timestamp("us", tz="UTC")),
            },
            schema=state.arrow_schema(),
        ),
    )
    try:
        with pytest.raises(SchemaDriftError) as err:
            PostgresWarehouse(scratch_database).load_day(day)
    finally:
        s3, bucket, _ = lake_location()
        s3.delete_object(Bucket=bucket, Key=key)
    message = str(err.value)
    assert type(err.value).__name__ == "StagingSchemaError"
    assert "staging.state: missing is_state boolean (in include/sources/states_page/lake.py)" in (
        message
    )
    assert "Add a migration" in message and "run the migrations" in message
    with pg_connect(scratch_database) as conn:
        assert conn.execute("select count(*) from staging.state").fetchone()[0] == 0


def test_a_registered_column_without_a_migration_is_refused_with_the_statement_to_add(
    scratch_database,
):
    """A column added to a lake.py and no migration: the load names the column, the next
    migration file and the statement that would add it, and loads nothing."""
    migrate_set(STAGING_MIGRATIONS, scratch_database)
    state = lake_table("state")
    grown = replace(state, columns=state.columns + (("capital", "string"),))
    with pytest.raises(SchemaDriftError) as err:
        PostgresWarehouse(scratch_database, tables=(grown,)).load_day(date(2041, 5, 8))
    message = str(err.value)
    assert "staging.state: missing capital text" in message
    assert "alter table staging.state add column capital text;" in message
    following = len(list(STAGING_MIGRATIONS.directory.glob("W*.sql"))) + 1
    assert f"{STAGING_MIGRATIONS.directory}/W{following:03d}__<what>.sql" in message


def test_python_m_include_migrations_applies_the_source_and_the_staging_migrations(
    make_scratch_database,
):
    """`python -m include.migrations` (what `make services` runs) on a new source database
    and a new warehouse: both sets applied, each recorded in its own database."""
    source = make_scratch_database("source_db")
    warehouse = make_scratch_database("warehouse_db")
    env = {**os.environ, "WAREHOUSE": "postgres", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "include.migrations"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    source_files = [p.name for p in sorted(Path(ROOT, "include/migrations").glob("V*.sql"))]
    staging_files = [p.name for p in sorted(STAGING_MIGRATIONS.directory.glob("W*.sql"))]
    assert sorted(_history(source, "public.schema_migrations")) == sorted(source_files)
    assert _history(warehouse, STAGING_MIGRATIONS.table) == staging_files
    assert set(_columns(warehouse)) == {t.name for t in TABLES}
    assert "warehouse_db staging migrations applied" in result.stdout


def test_a_misnamed_migration_file_is_refused_not_skipped(scratch_database, tmp_path):
    migrations = _scratch_set(tmp_path)
    (tmp_path / f"W2_{uuid.uuid4().hex[:6]}.sql").write_text("select 1;")
    with pytest.raises(ValueError, match=r"not a migration name; expected W<NNN>__<name>\.sql"):
        migrate_set(migrations, scratch_database)
    with pg_connect(scratch_database) as conn:
        assert conn.execute("select to_regclass('staging.state')").fetchone()[0] is None
