"""The PostgreSQL staging load streams Arrow record batches into COPY binary (ADBC): every
registry type lands as the lake file holds it, across row groups, with `_lake_day`; a
reload replaces the day only; a failure inside PostgreSQL on a later table of the day
(after an earlier table's delete and COPY) leaves every table as it was. Each test runs on
a scratch warehouse database with its own staging tables."""

import io
import math
import uuid
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from psycopg import sql

from include.connections import pg_connect
from include.lake import lake_location, object_key
from include.lake.table import LakeTable
from include.migrations import migrate_set
from include.warehouse.postgres import PG_TYPES, STAGING_MIGRATIONS, PostgresWarehouse

pytestmark = pytest.mark.integration
DAY, OTHER = date(2042, 3, 1), date(2042, 3, 2)
ROWS = 120_005  # three row groups of 50,000 rows: two whole, one short
COLUMNS = (
    ("id", "int64"),
    ("name", "string"),
    ("flag", "bool"),
    ("qty", "int16"),
    ("big", "int64"),
    ("ratio", "float64"),
    ("seen_on", "date"),
    ("updated_at", "timestamp"),
)
EDGE_TIMES = [
    datetime(1900, 1, 1, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC),
]


def _lake_rows(n: int, table: LakeTable, salt: int = 0) -> pa.Table:
    """n rows of every type: nulls in each nullable column, unicode and empty strings,
    extreme integers and floats, dates and timestamps far from 1970 and 2000."""
    ids = list(range(1, n + 1))

    def pick(i, values, null_every):
        return None if i % null_every == 0 else values[(i + salt) % len(values)]

    columns = {
        "id": ids,
        "name": [pick(i, ["Doña Ana ✓", "", "a\tb\nc", "x" * 300, "日本"], 7) for i in ids],
        "flag": [pick(i, [True, False], 5) for i in ids],
        "qty": [pick(i, [-32768, 0, 32767, i % 1000], 11) for i in ids],
        "big": [pick(i, [-(2**63), 2**63 - 1, 0, i * 1_000_003], 13) for i in ids],
        "ratio": [pick(i, [math.inf, -math.inf, -0.0, 1 / 3, 1e308, i / 7], 17) for i in ids],
        "seen_on": [
            pick(i, [date(1, 1, 1), date(1970, 1, 1), date(9999, 12, 31)], 19) for i in ids
        ],
        "updated_at": [pick(i, EDGE_TIMES, 23) for i in ids],
    }
    return pa.table(columns, schema=table.arrow_schema())


def _put(table: LakeTable, day: date, data: pa.Table) -> None:
    s3, bucket, prefix = lake_location()
    buf = io.BytesIO()
    pq.write_table(data, buf, row_group_size=50_000)
    s3.put_object(Bucket=bucket, Key=object_key(prefix, table.name, day), Body=buf.getvalue())


def _staged(conn_id: str, table: LakeTable, day: date) -> list[tuple]:
    with pg_connect(conn_id) as conn:
        return conn.execute(
            sql.SQL("select {} from staging.{} where _lake_day = %s order by id").format(
                sql.SQL(", ").join(sql.Identifier(c) for c, _ in table.columns),
                sql.Identifier(table.name),
            ),
            (day,),
        ).fetchall()


@pytest.fixture
def staging(scratch_database):
    """(conn id, two lake tables) with their staging tables in a scratch warehouse."""
    migrate_set(STAGING_MIGRATIONS, scratch_database)
    tables = tuple(LakeTable(f"arrow_load_{uuid.uuid4().hex[:6]}", ("id",), COLUMNS) for _ in "ab")
    with pg_connect(scratch_database, autocommit=True) as conn:
        for t in tables:
            conn.execute(
                sql.SQL(
                    "create table staging.{} ({}, _lake_day date not null, "
                    "_loaded_at timestamptz not null default now())"
                ).format(
                    sql.Identifier(t.name),
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(PG_TYPES[ty]))
                        for c, ty in t.columns
                    ),
                )
            )
    yield scratch_database, tables
    s3, bucket, prefix = lake_location()
    for t in tables:
        for day in (DAY, OTHER):
            s3.delete_object(Bucket=bucket, Key=object_key(prefix, t.name, day))


def test_every_type_lands_as_the_lake_file_holds_it(staging):
    conn_id, (table, _) = staging
    data = _lake_rows(ROWS, table)
    _put(table, DAY, data)
    warehouse = PostgresWarehouse(conn_id, tables=(table,))
    assert warehouse.load_day(DAY) == {table.name: ROWS}
    expected = [tuple(r.values()) for r in data.to_pylist()]
    assert _staged(conn_id, table, DAY) == expected

    # Another day beside it, then a reload of the first with other rows: only that day
    # changes, and it holds exactly the new file's rows.
    _put(table, OTHER, _lake_rows(10, table))
    warehouse.load_day(OTHER)
    smaller = _lake_rows(ROWS - 5, table, salt=1)
    _put(table, DAY, smaller)
    assert warehouse.load_day(DAY) == {table.name: ROWS - 5}
    assert _staged(conn_id, table, DAY) == [tuple(r.values()) for r in smaller.to_pylist()]
    assert len(_staged(conn_id, table, OTHER)) == 10


def test_a_zero_row_file_empties_the_day(staging):
    conn_id, (table, _) = staging
    _put(table, DAY, _lake_rows(3, table))
    warehouse = PostgresWarehouse(conn_id, tables=(table,))
    warehouse.load_day(DAY)
    _put(table, DAY, _lake_rows(0, table))
    assert warehouse.load_day(DAY) == {table.name: 0}
    assert _staged(conn_id, table, DAY) == []


def test_a_copy_that_postgresql_refuses_on_a_later_table_changes_no_table(staging):
    from include.connections import get_connection
    from include.connections.adbc import AdbcError

    conn_id, (first, second) = staging
    for t in (first, second):
        _put(t, DAY, _lake_rows(1_000, t))
    warehouse = PostgresWarehouse(conn_id, tables=(first, second))
    warehouse.load_day(DAY)
    before = {t.name: _staged(conn_id, t, DAY) for t in (first, second)}

    # New files for both; PostgreSQL refuses the second one's rows (a constraint the
    # registry knows nothing about), after the first table's delete and COPY went through.
    for t in (first, second):
        _put(t, DAY, _lake_rows(2_000, t, salt=3))
    with pg_connect(conn_id, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "alter table staging.{} add constraint no_big check (big <> 0) not valid"
            ).format(sql.Identifier(second.name))
        )
    with pytest.raises(AdbcError) as caught:
        warehouse.load_day(DAY)
    text = str(caught.value)
    assert second.name in text and "no_big" in text, text
    assert get_connection(conn_id).password not in text
    assert {t.name: _staged(conn_id, t, DAY) for t in (first, second)} == before
