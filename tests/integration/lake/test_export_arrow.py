"""The lake export reads Arrow through ADBC (COPY binary): its Parquet file is the file the
earlier psycopg path wrote for the same rows (that path is written out here, independently
of the code under test), it reads exactly the snapshot of the psycopg transaction that owns
the export, and an ADBC error carries no secret."""

import io
import tempfile
import uuid
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.connections import pg_connect
from include.lake.table import LakeTable

pytestmark = pytest.mark.integration
DAY = date(2036, 6, 1)
ROWS = 120_005  # three row groups of the export's 50,000: two whole, one short
# Every registry type, and the source types that the export narrows or widens to them:
# integer -> int64, numeric -> float64.
COLUMNS = (
    ("id", "int64"),
    ("name", "string"),
    ("flag", "bool"),
    ("qty", "int16"),
    ("small_count", "int64"),
    ("big_count", "int64"),
    ("rating", "float64"),
    ("ratio", "float64"),
    ("seen_on", "date"),
    ("created_at", "timestamp"),
    ("updated_at", "timestamp"),
)
DDL = """create table {schema}.{table} (id bigint primary key, name text, flag boolean,
 qty smallint, small_count integer, big_count bigint, rating numeric(3, 1),
 ratio double precision, seen_on date, created_at timestamptz, updated_at timestamptz not null)"""
# Nulls in every nullable column, unicode, empty strings, extreme and fractional values,
# timestamps before 1970 and with microseconds; ids inserted out of key order.
FILL = """insert into {schema}.{table}
select i,
       case when i % 7 = 0 then null when i % 11 = 0 then '' else 'Doña Ana ✓ ' || i end,
       case when i % 5 = 0 then null else i % 2 = 0 end,
       case when i % 13 = 0 then null else ((i % 65535) - 32767)::smallint end,
       case when i % 17 = 0 then null else (i * 7919) % 2147483647 - 1073741823 end,
       case when i = 3 then 9223372036854775807 when i = 4 then -9223372036854775808
            when i % 19 = 0 then null else i * 1000003 end,
       case when i % 23 = 0 then null else ((i % 50) / 10.0)::numeric(3, 1) end,
       case when i % 29 = 0 then null else i / 7.0 end,
       case when i % 31 = 0 then null else date '1950-01-01' + (i % 40000)::integer end,
       case when i % 37 = 0 then null
            else timestamptz '1960-02-29 12:34:56.789012+00' + i * interval '1 hour 1.000001 s' end,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 millisecond'
from generate_series(1::bigint, {n}) as g(i) order by (i * 2654435761) % 1000003"""


@pytest.fixture
def scratch():
    from psycopg import sql

    schema = f"arrow_{uuid.uuid4().hex[:8]}"
    table = LakeTable(f"arrow_{uuid.uuid4().hex[:6]}", ("id",), COLUMNS)
    ident = {"schema": sql.Identifier(schema), "table": sql.Identifier(table.name)}
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {schema}").format(**ident))
        conn.execute(sql.SQL(DDL).format(**ident))
        conn.execute(sql.SQL(FILL).format(n=sql.Literal(ROWS), **ident))
    yield schema, table
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema {schema} cascade").format(**ident))
        conn.execute("delete from lake.exports where table_name = %s", (table.name,))


def _old_path_file(schema: str, table: LakeTable, upper) -> bytes:
    """The export as it was before ADBC: a psycopg server-side cursor, fetchmany(50,000),
    Python tuples -> pa.array -> one record batch and row group per fetch."""
    from psycopg import sql

    arrow_schema = table.arrow_schema()
    query = sql.SQL("select {} from {}.{} where updated_at < %s order by id").format(
        sql.SQL(", ").join(
            sql.SQL("{}::float8").format(sql.Identifier(c)) if t == "float64" else sql.Identifier(c)
            for c, t in table.columns
        ),
        sql.Identifier(schema),
        sql.Identifier(table.name),
    )
    with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
        with pg_connect("source_db") as conn, conn.cursor(name="old_path") as cur:
            cur.execute(query, (upper,))
            with pq.ParquetWriter(tmp.name, arrow_schema, compression="snappy") as writer:
                while batch := cur.fetchmany(50_000):
                    columns = list(zip(*batch))
                    writer.write_batch(
                        pa.RecordBatch.from_arrays(
                            [pa.array(c, type=f.type) for c, f in zip(columns, arrow_schema)],
                            schema=arrow_schema,
                        )
                    )
        return open(tmp.name, "rb").read()


def test_the_adbc_export_writes_the_old_paths_parquet_file(scratch):
    from include.lake import lake_location
    from include.lake.export import export_table

    schema, table = scratch
    s3, bucket, prefix = lake_location()
    prefix = f"{prefix}-test-arrow"
    with pg_connect("source_db", autocommit=True) as conn:
        result = export_table(conn, s3, bucket, prefix, table, DAY, schema=schema)
        upper = conn.execute(
            "select watermark_to from lake.exports where table_name = %s and day = %s",
            (table.name, DAY),
        ).fetchone()[0]
    try:
        new = s3.get_object(Bucket=bucket, Key=result.key)["Body"].read()
    finally:
        s3.delete_object(Bucket=bucket, Key=result.key)
    old = _old_path_file(schema, table, upper)
    assert result.rows == ROWS
    new_file, old_file = pq.ParquetFile(io.BytesIO(new)), pq.ParquetFile(io.BytesIO(old))
    # The schema, byte for byte: the Parquet schema and the Arrow schema stored with it.
    assert new_file.schema_arrow == old_file.schema_arrow == table.arrow_schema()
    assert new_file.schema.equals(old_file.schema)
    assert new_file.metadata.metadata == old_file.metadata.metadata
    assert [new_file.metadata.row_group(i).num_rows for i in range(new_file.num_row_groups)] == [
        50_000,
        50_000,
        20_005,
    ]
    # The rows, in key order.
    assert new_file.read().equals(old_file.read())
    assert new_file.read().column("id").to_pylist() == list(range(1, ROWS + 1))
    # And so the whole file.
    assert new == old


def test_a_zero_row_export_still_writes_the_schema(scratch):
    from include.lake import lake_location, object_key
    from include.lake.export import export_table

    schema, table = scratch
    s3, bucket, prefix = lake_location()
    prefix = f"{prefix}-test-arrow"
    with pg_connect("source_db", autocommit=True) as conn:
        export_table(conn, s3, bucket, prefix, table, DAY, schema=schema)  # everything
        again = export_table(conn, s3, bucket, prefix, table, date(2036, 6, 2), schema=schema)
    try:
        body = s3.get_object(Bucket=bucket, Key=again.key)["Body"].read()
    finally:
        for day in (DAY, date(2036, 6, 2)):
            s3.delete_object(Bucket=bucket, Key=object_key(prefix, table.name, day))
    empty = pq.read_table(io.BytesIO(body))
    assert again.rows == 0 and empty.num_rows == 0
    assert empty.schema == table.arrow_schema()


def test_the_reader_reads_the_snapshot_of_the_owning_transaction(scratch):
    """A row committed after the psycopg transaction took its snapshot is invisible to the
    ADBC reader that imported it, though the reader's session started after the commit."""
    from include.lake.export import snapshot_reader

    schema, table = scratch
    with pg_connect("source_db", autocommit=True) as owner, owner.transaction():
        owner.execute("set transaction isolation level repeatable read")
        before = owner.execute(f"select count(*) from {schema}.{table.name}").fetchone()[0]
        with pg_connect("source_db", autocommit=True) as writer:
            writer.execute(f"insert into {schema}.{table.name} (id, updated_at) values (-1, now())")
        with snapshot_reader(owner) as reader:
            cur = reader.cursor()
            cur.execute(f"select count(*), min(id) from {schema}.{table.name}")
            assert cur.fetchone() == (before, 1)
            cur.close()
    assert before == ROWS


def test_an_adbc_error_is_redacted_and_not_chained():
    from include.connections.adbc import AdbcError, adbc_connect, adbc_errors
    from include.connections.secrets import register

    canary = f"canary-{uuid.uuid4().hex}"
    register(canary)
    with pg_connect("source_db", autocommit=True) as conn:
        arrow = adbc_connect(conn)
    try:
        # The driver's message quotes the failed query, and so the canary.
        with pytest.raises(AdbcError) as caught, adbc_errors("probe"):
            arrow.cursor().execute(f'select * from "no_such_table_{canary}"')
    finally:
        arrow.close()
    text = str(caught.value)
    assert "probe" in text and "no_such_table_***" in text, text
    assert canary not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
