"""Local warehouse target: PostgreSQL `warehouse_db`, schema `staging`.

Each lake table lands in `staging.<table>` with `_lake_day`; loading day D deletes D's rows
and COPYs the day's Parquet file in one transaction, so a rerun leaves the same rows. The
Parquet schema must equal the registered one: drift fails with a clear message.
"""

from __future__ import annotations

import io
from datetime import date

from psycopg import sql

from include.lake import TABLES, lake_location, lake_table, object_key
from include.lake.table import LakeTable
from include.warehouse import SchemaDriftError

PG_TYPES = {
    "string": "text",
    "bool": "boolean",
    "int16": "smallint",
    "int64": "bigint",
    "float64": "double precision",
    "date": "date",
    "timestamp": "timestamptz",
}


class PostgresWarehouse:
    def __init__(self, conn_id: str = "warehouse_db"):
        self.conn_id = conn_id

    def _ensure(self, conn, table: LakeTable) -> None:
        """The staging table (and schema) of `table`, created if missing, in the caller's
        transaction. CREATE ... IF NOT EXISTS is not safe against itself (two first loads
        at once: a unique violation in pg_type or pg_namespace), so a load that finds the
        table missing takes a transaction-level advisory lock for the staging DDL first."""
        name = f"staging.{table.name}"
        if conn.execute("select to_regclass(%s)", (name,)).fetchone()[0]:
            return
        conn.execute("select pg_advisory_xact_lock(hashtext('elt:staging-ddl'))")
        cols = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(PG_TYPES[t]))
            for c, t in table.columns
        )
        conn.execute("create schema if not exists staging")
        conn.execute(
            sql.SQL(
                "create table if not exists staging.{} ({}, _lake_day date not null, "
                "_loaded_at timestamptz not null default now())"
            ).format(sql.Identifier(table.name), cols)
        )
        conn.execute(
            sql.SQL("create index if not exists {} on staging.{} (_lake_day)").format(
                sql.Identifier(f"{table.name}_lake_day"), sql.Identifier(table.name)
            )
        )

    def load_day(self, day: date) -> dict[str, int]:
        import pyarrow.parquet as pq

        from include.connections import pg_connect

        s3, bucket, prefix = lake_location()
        loaded = {}
        with pg_connect(self.conn_id) as conn:
            for table in TABLES:
                key = object_key(prefix, table.name, day)
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                parquet = pq.ParquetFile(io.BytesIO(body))
                expected = table.arrow_schema()
                if not parquet.schema_arrow.equals(expected):
                    raise SchemaDriftError(
                        f"s3://{bucket}/{key}: schema {parquet.schema_arrow} differs from the "
                        f"registered schema {expected}; add the column deliberately"
                    )
                cols = [c for c, _ in table.columns]
                with conn.transaction():
                    self._ensure(conn, table)
                    conn.execute(
                        sql.SQL("delete from staging.{} where _lake_day = %s").format(
                            sql.Identifier(table.name)
                        ),
                        (day,),
                    )
                    copy_sql = sql.SQL("copy staging.{} ({}) from stdin").format(
                        sql.Identifier(table.name),
                        sql.SQL(", ").join(map(sql.Identifier, cols + ["_lake_day"])),
                    )
                    n = 0
                    with conn.cursor().copy(copy_sql) as copy:
                        for batch in parquet.iter_batches(batch_size=50_000):
                            for row in zip(*(c.to_pylist() for c in batch.columns)):
                                copy.write_row(row + (day,))
                                n += 1
                loaded[table.name] = n
        return loaded

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
