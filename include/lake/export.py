"""Export to the S3 lake as Parquet, one deterministic key per table and day.

Delta tables: for day D the rows with `updated_at` in [watermark of the target's latest
export of an earlier day, safe upper bound) are read as Arrow record batches by the ADBC
PostgreSQL driver (COPY binary, `include.connections.adbc`) and streamed into a Parquet
file at `<prefix>/<target>/<table>/dt=D/part-0000.parquet`, one row group per BATCH_ROWS
rows; no more than about one driver batch and one row group is held at a time.
The upper bound is the start of the oldest transaction still open in the database (or
now): `updated_at` is a writer's transaction start, so a writer that is still open can
only ever commit rows at or above it; rows at or above the bound wait for the next export.
The export reads in one REPEATABLE READ snapshot taken with the bound: the psycopg
transaction that reads the bound owns it (and records `lake.exports`), exports it
(`pg_export_snapshot()`), and the ADBC session imports it (`SET TRANSACTION SNAPSHOT`)
before its first query, so the rows are read in exactly the bound's snapshot. Each warehouse
target keeps its own watermark (`lake.exports.target`), so what one target's runs
exported never hides rows from the other. A rerun of D uses the same lower bound and
overwrites the same key. A day with no change still gets a (zero-row) file, so the
warehouse load can tell "nothing changed" from "not exported".

The export's role must see other sessions' `xact_start` in pg_stat_activity: the same role
as the writers, or a member of pg_read_all_stats.

Day tables (`day_column` set) are exported whole for their day instead: the rows of
`<schema>.<table>` whose `day_column` is D, so a rerun of the raw day followed by a rerun of
the export replaces the day in the lake and the warehouse.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date

from include.lake import TABLES, lake_location, object_key, target_name
from include.lake.table import LakeTable

BATCH_ROWS = 50_000


class LakeWriteError(RuntimeError):
    """S3 did not take a lake object, after the client's bounded retries (`s3_limits`)."""


def _s3_failure(exc: BaseException) -> str:
    """What S3 answered (code, HTTP status, attempts, message), else the client's error."""
    from botocore.exceptions import ClientError

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ClientError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return f"{type(exc).__name__}: {exc}"
    error = cause.response.get("Error", {})
    meta = cause.response.get("ResponseMetadata", {})
    return (
        f"{error.get('Code')} (HTTP {meta.get('HTTPStatusCode')}) after "
        f"{meta.get('RetryAttempts', 0) + 1} attempt(s): {str(error.get('Message')).rstrip('.')}"
    )


@dataclass(frozen=True)
class LakeExport:
    """One table's export for one day."""

    table: str
    rows: int
    key: str  # the S3 object key written


# The start of the oldest transaction open in this database other than the export's own,
# or the export's own start: no open writer can commit a row with an earlier updated_at.
SAFE_UPPER_BOUND = (
    "select least(now(), min(xact_start)) from pg_stat_activity "
    "where datname = current_database() and pid <> pg_backend_pid() "
    "and backend_type = 'client backend' and xact_start is not null"
)


@contextmanager
def snapshot_reader(conn):
    """An ADBC connection that reads exactly the snapshot of psycopg `conn`'s open
    REPEATABLE READ transaction: `conn` exports its snapshot (it stays the owner: it must
    stay open while the reader reads), the reader's transaction imports it before any
    query. Closed (rolled back) on exit."""
    from psycopg import sql

    from include.connections.adbc import adbc_connect, adbc_errors

    snapshot = conn.execute("select pg_export_snapshot()").fetchone()[0]
    reader = adbc_connect(conn)
    try:
        with adbc_errors("lake export: importing the export's snapshot over ADBC"):
            cur = reader.cursor()
            cur.execute("begin isolation level repeatable read")
            cur.execute(
                sql.SQL("set transaction snapshot {}").format(sql.Literal(snapshot)).as_string(conn)
            )
            cur.close()
        yield reader
    finally:
        try:
            reader.close()  # ends the session: its read-only transaction goes with it
        except Exception:  # noqa: BLE001 - a session already gone has nothing to end
            pass


def _arrow_batches(reader, query: str, what: str):
    """The record batches of `query` as the ADBC driver streams them (errors redacted)."""
    from include.connections.adbc import adbc_errors

    with adbc_errors(what):
        cur = reader.cursor()
        cur.execute(query)
        stream = iter(cur.fetch_record_batch())
    try:
        while True:
            with adbc_errors(what):
                try:
                    batch = next(stream)
                except StopIteration:
                    return
            yield batch
    finally:
        cur.close()


def _conform(batch, arrow_schema):
    """A driver batch as the registry types it (e.g. int4 -> int64, nullability, no driver
    field metadata)."""
    import pyarrow as pa

    return pa.RecordBatch.from_arrays(
        [
            col if col.type == field.type else col.cast(field.type)
            for col, field in zip(batch.columns, arrow_schema)
        ],
        schema=arrow_schema,
    )


def _write_row_groups(writer, batches, arrow_schema) -> int:
    """Write `batches` as row groups of BATCH_ROWS rows (the last one shorter), whatever
    size the driver's batches are; returns the rows written."""
    import pyarrow as pa

    rows, pending, pending_rows = 0, [], 0
    for batch in batches:
        pending.append(batch)
        pending_rows += batch.num_rows
        rows += batch.num_rows
        if pending_rows >= BATCH_ROWS:
            table = pa.Table.from_batches(pending, arrow_schema)
            whole = pending_rows - pending_rows % BATCH_ROWS
            writer.write_table(table.slice(0, whole), row_group_size=BATCH_ROWS)
            rest = table.slice(whole)
            pending, pending_rows = rest.to_batches(), rest.num_rows
    if pending_rows:
        writer.write_table(pa.Table.from_batches(pending, arrow_schema), row_group_size=BATCH_ROWS)
    return rows


def export_table(
    conn,
    s3,
    bucket: str,
    prefix: str,
    table: LakeTable,
    day: date,
    schema: str | None = None,
    target: str | None = None,
    snapshot_upper=None,
    reader=None,
) -> LakeExport:
    """Export `<schema>.<table>` (the table's own schema unless a benchmark points it
    elsewhere) for day D into `target`'s stream (default: this process's target). With
    `conn` in autocommit mode the export is its own REPEATABLE READ transaction; inside a
    caller's REPEATABLE READ transaction (`export_day`), pass that snapshot's bound as
    `snapshot_upper` and every table of the day reads the same snapshot (`reader`: an open
    `snapshot_reader` of that transaction, else one is opened for this table)."""
    import pyarrow.parquet as pq
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError
    from psycopg import sql

    schema = schema or table.schema
    target = target or target_name()
    lower = (
        None
        if table.day_column
        else conn.execute(
            "select max(watermark_to) from lake.exports "
            "where target = %s and table_name = %s and day < %s",
            (target, table.name, day),
        ).fetchone()[0]
    )
    arrow_schema = table.arrow_schema()
    rows = 0
    upper = None
    key = object_key(prefix, table.name, day, target)
    with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
        with conn.transaction():
            # One snapshot for the bound and the rows: what the bound says is committed is
            # what the reader reads (it imports this transaction's snapshot).
            if snapshot_upper is None:
                conn.execute("set transaction isolation level repeatable read")
                snapshot_upper = conn.execute(SAFE_UPPER_BOUND).fetchone()[0]
            if not table.day_column:
                upper = snapshot_upper
            where = (
                sql.SQL("{} = {}").format(sql.Identifier(table.day_column), sql.Literal(day))
                if table.day_column
                else sql.SQL(
                    "({lower}::timestamptz is null or updated_at >= {lower}) "
                    "and updated_at < {upper}"
                ).format(lower=sql.Literal(lower), upper=sql.Literal(upper))
            )
            query = (
                sql.SQL("select {cols} from {s}.{t} where {where} order by {key}")
                .format(
                    # numeric columns (e.g. a rating) leave PostgreSQL as float8 for float64.
                    cols=sql.SQL(", ").join(
                        sql.SQL("{}::float8").format(sql.Identifier(c))
                        if t == "float64"
                        else sql.Identifier(c)
                        for c, t in table.columns
                    ),
                    s=sql.Identifier(schema),
                    t=sql.Identifier(table.name),
                    where=where,
                    key=sql.SQL(", ").join(map(sql.Identifier, table.key)),
                )
                .as_string(conn)
            )
            what = f"lake export of {schema}.{table.name} for {day}"
            with ExitStack() as stack:
                if reader is None:
                    reader = stack.enter_context(snapshot_reader(conn))
                batches = (_conform(b, arrow_schema) for b in _arrow_batches(reader, query, what))
                with pq.ParquetWriter(tmp.name, arrow_schema, compression="snappy") as writer:
                    rows = _write_row_groups(writer, batches, arrow_schema)
        try:
            s3.upload_file(tmp.name, bucket, key)
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise LakeWriteError(
                f"S3 lake: upload of s3://{bucket}/{key} (lake table {table.name}, day {day}) "
                f"failed: {_s3_failure(exc)}. No lake.exports watermark is recorded for it; "
                "rerun the day's export once S3 answers"
            ) from exc
    conn.execute(
        "insert into lake.exports (target, table_name, day, watermark_from, watermark_to, "
        "row_count, s3_key) values (%s, %s, %s, %s, %s, %s, %s) "
        "on conflict (target, table_name, day) do update set "
        "watermark_from = excluded.watermark_from, watermark_to = excluded.watermark_to, "
        "row_count = excluded.row_count, s3_key = excluded.s3_key, exported_at = now()",
        (target, table.name, day, lower, upper, rows, key),
    )
    return LakeExport(table=table.name, rows=rows, key=key)


def export_days(days: list[date], source_conn_id: str = "source_db") -> list[LakeExport]:
    """Every registered table's export for each day, in day order (a delta's lower bound is
    the watermark of the day before, so the order matters)."""
    return [e for day in sorted(days) for e in export_day(day, source_conn_id)]


def export_day(day: date, source_conn_id: str = "source_db") -> list[LakeExport]:
    """Every registered table's export for day D, from ONE snapshot: the day's files hold
    one state of the source (a load that commits mid-export is in the next day's files),
    and their `lake.exports` rows are recorded together, at the end, or not at all."""
    from include.connections import pg_connect

    s3, bucket, prefix = lake_location()
    with pg_connect(source_conn_id, autocommit=True) as conn, conn.transaction():
        conn.execute("set transaction isolation level repeatable read")
        upper = conn.execute(SAFE_UPPER_BOUND).fetchone()[0]
        # One ADBC session reads every table, in this transaction's snapshot.
        with snapshot_reader(conn) as reader:
            exports = [
                export_table(conn, s3, bucket, prefix, t, day, snapshot_upper=upper, reader=reader)
                for t in TABLES
            ]
        # The landings of D this snapshot read: what a later landing of D is compared with.
        conn.execute(
            "insert into lake.exported_landings (target, source, day, landed_at) "
            "select %s, source, day, landed_at from raw.landed_days where day = %s "
            "on conflict (target, source, day) do update set landed_at = excluded.landed_at",
            (target_name(), day),
        )
        return exports


# Days a source landed (raw.landed_days) after the target's last export of that day read
# them, or that no export of the day read: each still has to reach the lake and the target.
UNEXPORTED_DAYS = (
    "select distinct l.day from raw.landed_days as l "
    "left join lake.exported_landings as x "
    "on x.target = %s and x.source = l.source and x.day = l.day "
    "where x.landed_at is null or x.landed_at < l.landed_at order by 1"
)


def unexported_days(target: str | None = None, source_conn_id: str = "source_db") -> list[date]:
    """Every day a source landed that `target`'s lake stream has not exported since (the
    landing is newer than what the last export of the day read), in day order."""
    from include.connections import pg_connect

    with pg_connect(source_conn_id) as conn:
        return [r[0] for r in conn.execute(UNEXPORTED_DAYS, (target or target_name(),))]
