"""BigQuery staging comes from versioned DDL files (include/warehouse/migrations/bigquery/
W<NNN>__*.sql), applied by the load when pending and recorded in the dataset's
`schema_migrations`; the load refuses when a staging table differs from the lake registry.
On the local emulators (`make emulators`), each test in a scratch dataset; the expected
columns are the registry's (each source's lake.py), typed by this test's own mapping, and
the staging columns are read from a query's result schema (not the load's dry run)."""

import io
import shutil
import socket
import uuid
from dataclasses import replace
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.lake import TABLES, lake_location, lake_table, object_key
from include.migrations import MigrationChanged
from include.warehouse import SchemaDriftError
from local import config as cfg

pytestmark = pytest.mark.integration
# Registry (Arrow) type -> GoogleSQL type; the API may answer the legacy names.
BQ_TYPE = {
    "string": "STRING",
    "bool": "BOOL",
    "int16": "INT64",
    "int64": "INT64",
    "float64": "FLOAT64",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
LEGACY = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}


@pytest.fixture
def scratch(monkeypatch):
    """(settings, bigquery client, scratch dataset name) on the emulators; the dataset is
    deleted afterwards."""
    for name, port in (("bigquery", cfg.BQ_REST_PORT), ("gcs", cfg.GCS_PORT)):
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((cfg.HOST, port)) == 0, (
                f"{name} emulator not listening on {cfg.HOST}:{port}: run `make emulators`"
            )
    monkeypatch.setenv("WAREHOUSE", "bigquery")
    for key, value in cfg.emulator_settings().items():
        monkeypatch.setenv(key, value)
    from include.warehouse.bigquery import clients

    settings, bq, _ = clients()
    dataset = f"staging_scratch_{uuid.uuid4().hex[:10]}"
    yield settings, bq, dataset
    bq.delete_dataset(f"{settings.project}.{dataset}", delete_contents=True, not_found_ok=True)


def _columns(bq, project: str, dataset: str, table: str) -> dict[str, str]:
    result = bq.query(f"select * from `{project}.{dataset}.{table}` limit 0").result()
    return {f.name: LEGACY.get(f.field_type, f.field_type) for f in result.schema}


def _migrations(folder):
    from include.warehouse.bigquery import MIGRATIONS

    for path in MIGRATIONS.glob("W*.sql"):
        shutil.copy(path, folder)
    return folder


def _put_lake_file(table, day: date, data: pa.Table) -> str:
    s3, bucket, prefix = lake_location()
    key = object_key(prefix, table.name, day)
    buf = io.BytesIO()
    pq.write_table(data, buf)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    return key


def _state_rows(table, capitals: list[str] | None):
    columns = {
        "state_code": ["NM", "VT"],
        "state_name": ["New Mexico", "Vermont"],
        "is_state": [True, True],
        "updated_at": pa.array([0, 0], pa.timestamp("us", tz="UTC")),
    }
    if capitals is not None:
        columns["capital"] = capitals
    return pa.table(columns, schema=table.arrow_schema())


def test_the_bigquery_staging_migrations_build_exactly_the_registered_lake_tables(scratch):
    from include.warehouse.bigquery import MIGRATIONS, BigQueryWarehouse

    settings, bq, dataset = scratch
    files = sorted(p.name for p in MIGRATIONS.glob("W*.sql"))
    assert BigQueryWarehouse(dataset=dataset).migrate() == files
    assert BigQueryWarehouse(dataset=dataset).migrate() == []  # applied once
    tables = {t.table_id for t in bq.list_tables(f"{settings.project}.{dataset}")}
    assert tables == {t.name for t in TABLES} | {"schema_migrations"}
    for table in TABLES:
        expected = {c: BQ_TYPE[ty] for c, ty in table.columns}
        expected |= {"_lake_day": "DATE", "_loaded_at": "TIMESTAMP"}
        assert _columns(bq, settings.project, dataset, table.name) == expected, table.name
        meta = bq.get_table(f"{settings.project}.{dataset}.{table.name}")
        assert meta.time_partitioning.field == "_lake_day", table.name
    recorded = [
        r[0]
        for r in bq.query(
            f"select version from `{settings.project}.{dataset}.schema_migrations` order by 1"
        ).result()
    ]
    assert recorded == files


def test_a_new_lake_column_reaches_bigquery_staging_through_a_new_migration_file(scratch, tmp_path):
    """A column added to a lake table plus a DDL file adding it: the load applies the file
    and the column's values land. An applied file edited afterwards is refused."""
    from include.warehouse.bigquery import BigQueryWarehouse

    settings, bq, dataset = scratch
    folder = _migrations(tmp_path)
    BigQueryWarehouse(dataset=dataset, migrations=folder).migrate()  # deployed before
    state = lake_table("state")
    grown = replace(state, columns=state.columns + (("capital", "string"),))
    added = folder / "W900__state_capital.sql"
    added.write_text("alter table state add column if not exists capital string;\n")
    day = date(2041, 6, 1)
    key = _put_lake_file(grown, day, _state_rows(grown, ["Santa Fe", "Montpelier"]))
    warehouse = BigQueryWarehouse(dataset=dataset, migrations=folder)
    try:
        loaded = warehouse.load_day(day, tables=(grown,))
        added.write_text(added.read_text() + "-- edited after it was applied\n")
        with pytest.raises(MigrationChanged, match=r"W900__state_capital\.sql"):
            warehouse.load_day(day, tables=(grown,))
    finally:
        s3, bucket, _ = lake_location()
        s3.delete_object(Bucket=bucket, Key=key)
    assert loaded == {"state": 2}
    rows = sorted(
        tuple(r.values())
        for r in bq.query(
            f"select state_code, capital, _lake_day from `{settings.project}.{dataset}.state`"
        ).result()
    )
    assert rows == [("NM", "Santa Fe", day), ("VT", "Montpelier", day)]


def test_a_failed_bigquery_migration_is_not_recorded_and_runs_again_once_fixed(scratch, tmp_path):
    """BigQuery runs DDL outside transactions: a file that fails is named, not recorded,
    and runs again whole on the next load (so its statements are repeatable)."""
    from include.warehouse.bigquery import BigQueryWarehouse, WarehouseLoadError

    settings, bq, dataset = scratch
    folder = _migrations(tmp_path)
    added = folder / "W900__state_capital.sql"
    added.write_text(
        "alter table state add column if not exists capital string;\n"
        "alter table no_such_table add column if not exists capital string;\n"
    )
    warehouse = BigQueryWarehouse(dataset=dataset, migrations=folder)
    with pytest.raises(WarehouseLoadError, match=r"W900__state_capital\.sql failed"):
        warehouse.migrate()
    history = f"`{settings.project}.{dataset}.schema_migrations`"
    recorded = [r[0] for r in bq.query(f"select version from {history}").result()]
    assert "W900__state_capital.sql" not in recorded and recorded
    added.write_text("alter table state add column if not exists capital string;\n")
    assert warehouse.migrate() == ["W900__state_capital.sql"]
    assert _columns(bq, settings.project, dataset, "state")["capital"] == "STRING"


def test_a_registered_column_without_a_bigquery_migration_is_refused(scratch):
    """A column added to a lake.py and no DDL file: the load names the column and the
    statement a migration would add, and loads nothing."""
    from include.warehouse.bigquery import BigQueryWarehouse

    settings, bq, dataset = scratch
    state = lake_table("state")
    grown = replace(state, columns=state.columns + (("capital", "string"),))
    day = date(2041, 6, 2)
    key = _put_lake_file(grown, day, _state_rows(grown, ["Santa Fe", "Montpelier"]))
    try:
        with pytest.raises(SchemaDriftError) as err:
            BigQueryWarehouse(dataset=dataset).load_day(day, tables=(grown,))
    finally:
        s3, bucket, _ = lake_location()
        s3.delete_object(Bucket=bucket, Key=key)
    message = str(err.value)
    assert type(err.value).__name__ == "StagingSchemaError"
    assert f"{dataset}.state: missing capital STRING" in message
    assert "alter table state add column if not exists capital STRING;" in message
    assert "run the migrations" in message
    count = bq.query(f"select count(*) from `{settings.project}.{dataset}.state`").result()
    assert next(iter(count))[0] == 0
