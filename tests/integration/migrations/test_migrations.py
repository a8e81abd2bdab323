"""The migrator on a scratch migrations folder and a scratch schema: one transaction per
file (a failing file keeps the ones before it), a checksum per applied file, and a
refusal to run when an applied file has changed."""

import uuid

import pytest

from include.connections import pg_connect

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch(tmp_path):
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    yield tmp_path, schema
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(f"drop schema {schema} cascade")


def _tables(schema):
    with pg_connect("source_db") as conn:
        return {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (schema,),
            )
        }


def test_each_file_is_its_own_transaction(scratch):
    from include.migrations import migrate

    folder, schema = scratch
    (folder / "V001__one.sql").write_text(f"create table {schema}.one (x int);")
    (folder / "V002__broken.sql").write_text(f"create table {schema}.two (x int); select 1/0;")
    with pytest.raises(Exception, match="division by zero"):
        migrate(directory=folder, table=f"{schema}.schema_migrations")
    # V001 stays applied and recorded; V002 left nothing behind.
    assert _tables(schema) == {"one", "schema_migrations"}
    with pg_connect("source_db") as conn:
        versions = [r[0] for r in conn.execute(f"select version from {schema}.schema_migrations")]
    assert versions == ["V001__one.sql"]


def test_an_applied_file_that_changed_is_refused(scratch):
    from include.migrations import MigrationChanged, migrate

    folder, schema = scratch
    path = folder / "V001__one.sql"
    path.write_text(f"create table {schema}.one (x int);")
    assert migrate(directory=folder, table=f"{schema}.schema_migrations") == ["V001__one.sql"]
    path.write_text(f"create table {schema}.one (x bigint);")
    (folder / "V002__two.sql").write_text(f"create table {schema}.two (x int);")
    with pytest.raises(MigrationChanged, match=r"V001__one\.sql"):
        migrate(directory=folder, table=f"{schema}.schema_migrations")
    assert "two" not in _tables(schema)  # nothing runs after a refusal
