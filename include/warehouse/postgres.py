"""Local warehouse target: PostgreSQL `warehouse_db`, schema `staging`.

Each lake table lands in `staging.<table>` with `_lake_day`; loading day D deletes D's rows
and writes the day's Parquet file, every table in one transaction, so a rerun leaves the
same rows. The load streams: each object is downloaded to a temporary file (never held in
memory), read a row group at a time as Arrow record batches, the `_lake_day` column added,
and written by the ADBC PostgreSQL driver (`adbc_ingest`: COPY binary) in one ADBC
transaction that holds the whole day (`include.connections.adbc`). The staging tables
come from the versioned migrations include/warehouse/migrations/W<NNN>__*.sql
(`STAGING_MIGRATIONS`, applied by `python -m include.migrations` and by the load itself
when pending, recorded in `public.warehouse_migrations`); the load refuses when a staging
table's columns differ from the lake registry (a migration is missing), and when a Parquet
file's schema does.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

from psycopg import sql

from include.lake import TABLES, lake_location, lake_table, object_key
from include.lake.table import LakeTable
from include.migrations import MigrationSet, migrate_set
from include.warehouse import SchemaDriftError, check_staging_columns

# Registry type -> the PostgreSQL type as the catalog spells it (format_type), which is
# also valid DDL.
PG_TYPES = {
    "string": "text",
    "bool": "boolean",
    "int16": "smallint",
    "int64": "bigint",
    "float64": "double precision",
    "date": "date",
    "timestamp": "timestamp with time zone",
}
STAGING_MIGRATIONS = MigrationSet(
    "warehouse_db staging",
    "warehouse_db",
    Path(__file__).parent / "migrations",
    "public.warehouse_migrations",
    "W",
)
# Rows per record batch read from a lake file and written to COPY, at most (the export
# writes row groups of 50,000 rows, and a batch never spans two).
LOAD_BATCH_ROWS = 65_536


def staging_columns(conn, schema: str = "staging") -> dict[str, dict[str, str]]:
    """Table -> {column: type} of every table in `schema`, as the catalog has them."""
    found: dict[str, dict[str, str]] = {}
    for table, column, type_name in conn.execute(
        "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
        "from pg_attribute as a join pg_class as c on a.attrelid = c.oid "
        "join pg_namespace as n on c.relnamespace = n.oid "
        "where n.nspname = %s and c.relkind in ('r', 'p') and a.attnum > 0 "
        "and not a.attisdropped order by c.relname, a.attnum",
        (schema,),
    ):
        found.setdefault(table, {})[column] = type_name
    return found


class PostgresWarehouse:
    def __init__(
        self,
        conn_id: str = "warehouse_db",
        migrations: MigrationSet = STAGING_MIGRATIONS,
        tables: tuple[LakeTable, ...] = TABLES,
    ):
        self.conn_id = conn_id
        self.migrations = migrations
        self.tables = tables

    def migrate(self) -> list[str]:
        """Apply the pending staging migrations on this warehouse; returns their names."""
        return migrate_set(self.migrations, self.conn_id)

    def check_staging(self, conn) -> None:
        """Raise StagingSchemaError when a staging table's columns differ from the lake
        registry (names and types, plus _lake_day and _loaded_at)."""
        check_staging_columns(
            "staging",
            self.tables,
            staging_columns(conn),
            PG_TYPES,
            self.migrations.directory,
            self.migrations.prefix,
            lambda t, c, ty: f"alter table staging.{t} add column {c} {ty};",
        )

    def load_day(self, day: date) -> dict[str, int]:
        """Day D of every table, whole or not at all (one transaction); pending staging
        migrations are applied first, and a staging table that differs from the registry
        stops the load before anything is read or deleted."""
        from include.connections import pg_connect
        from include.connections.adbc import adbc_connect, adbc_errors

        self.migrate()
        s3, bucket, prefix = lake_location()
        loaded = {}
        with pg_connect(self.conn_id, autocommit=True) as conn:
            self.check_staging(conn)
            # The day's one transaction: every table's delete and COPY, then one commit.
            arrow = adbc_connect(conn, autocommit=False)
            committed = False
            try:
                with tempfile.TemporaryDirectory(prefix="staging-load-") as scratch:
                    for table in self.tables:
                        loaded[table.name] = self._load_table(
                            conn,
                            arrow,
                            s3,
                            bucket,
                            object_key(prefix, table.name, day),
                            table,
                            day,
                            Path(scratch),
                        )
                with adbc_errors(f"staging load of {day}: commit"):
                    arrow.commit()
                committed = True
            finally:
                if not committed:
                    try:
                        arrow.rollback()
                    except Exception:  # noqa: BLE001 - closing the session rolls back too
                        pass
                arrow.close()
        return loaded

    def _load_table(
        self, conn, arrow, s3, bucket: str, key: str, table: LakeTable, day: date, scratch: Path
    ) -> int:
        """Replace day D of staging.<table> with the lake file at `key`, in `arrow`'s open
        transaction; returns the rows written. The file's schema is checked before the
        delete."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from include.connections.adbc import adbc_errors

        path = scratch / f"{table.name}.parquet"
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            with open(path, "wb") as out:
                shutil.copyfileobj(body, out, 8 << 20)
        finally:
            body.close()
        try:
            parquet = pq.ParquetFile(path)
            expected = table.arrow_schema()
            if not parquet.schema_arrow.equals(expected):
                raise SchemaDriftError(
                    f"s3://{bucket}/{key}: schema {parquet.schema_arrow} differs from the "
                    f"registered schema {expected}; add the column deliberately (to "
                    "include/sources/<name>/lake.py, with a staging migration in "
                    f"{self.migrations.directory})"
                )
            schema = expected.append(pa.field("_lake_day", pa.date32(), nullable=False))
            lake_day = pa.scalar(day, pa.date32())
            rows = 0

            def batches():
                nonlocal rows
                # One row group at a time: one iter_batches over the whole file holds what
                # it has read (measured: peak RSS +450 MB for a 10M-row file, flat this way).
                for group in range(parquet.num_row_groups):
                    for batch in parquet.iter_batches(
                        batch_size=LOAD_BATCH_ROWS, row_groups=[group]
                    ):
                        rows += batch.num_rows
                        yield pa.RecordBatch.from_arrays(
                            [*batch.columns, pa.repeat(lake_day, batch.num_rows)], schema=schema
                        )

            what = f"staging load of {table.name} for {day}"
            with adbc_errors(what), arrow.cursor() as cur:
                cur.execute(
                    sql.SQL("delete from staging.{} where _lake_day = {}")
                    .format(sql.Identifier(table.name), sql.Literal(day))
                    .as_string(conn)
                )
                cur.adbc_ingest(
                    table.name,
                    pa.RecordBatchReader.from_batches(schema, batches()),
                    mode="append",
                    db_schema_name="staging",
                )
            return rows
        finally:
            path.unlink(missing_ok=True)

    def staging_current_count(self, table: str, days: list[date] | None = None) -> int:
        from include.connections import pg_connect

        spec = lake_table(table)
        where = sql.SQL("" if days is None else " where _lake_day = any(%(days)s)")
        with pg_connect(self.conn_id) as conn:
            return conn.execute(
                sql.SQL("select count(*) from (select distinct {} from staging.{}{}) k").format(
                    sql.SQL(", ").join(map(sql.Identifier, spec.key)), sql.Identifier(table), where
                ),
                {"days": days},
            ).fetchone()[0]

    def staging_days(self, table: str) -> list[date]:
        from include.connections import pg_connect

        with pg_connect(self.conn_id) as conn:
            return [
                r[0]
                for r in conn.execute(
                    sql.SQL("select distinct _lake_day from staging.{} order by 1").format(
                        sql.Identifier(table)
                    )
                )
            ]

    def staging_latest_sum(self, table: str, column: str) -> int:
        """Sum of `column` over the latest version of each key in staging."""
        from include.connections import pg_connect

        spec = lake_table(table)
        keys = sql.SQL(", ").join(map(sql.Identifier, spec.key))
        with pg_connect(self.conn_id) as conn:
            return conn.execute(
                sql.SQL(
                    "select coalesce(sum({c}), 0) from (select distinct on ({k}) {c} "
                    "from staging.{t} order by {k}, updated_at desc, _lake_day desc) latest"
                ).format(c=sql.Identifier(column), k=keys, t=sql.Identifier(table))
            ).fetchone()[0]

    def staging_day_stats(
        self, table: str, day: date, column: str | None = None
    ) -> tuple[int, int | None]:
        from include.connections import pg_connect

        total = (
            sql.SQL("coalesce(sum({}), 0)").format(sql.Identifier(column))
            if column
            else sql.SQL("null")
        )
        with pg_connect(self.conn_id) as conn:
            rows, value = conn.execute(
                sql.SQL("select count(*), {} from staging.{} where _lake_day = %s").format(
                    total, sql.Identifier(table)
                ),
                (day,),
            ).fetchone()
        return rows, value
