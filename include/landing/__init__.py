"""Land raw batches in PostgreSQL with COPY, and upsert them into the OLTP model.

A batch is (source, logical date). Landing a batch replaces any earlier batch of the same
source and date in one transaction, so a rerun leaves the same raw rows. Normalizing is
one upsert per table that skips unchanged rows (`updated_at` moves only on change).

Only identifier-generic SQL lives here (through psycopg.sql); the statements a source runs
are in its own `sql/*.sql` files, read with `read_sql`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from psycopg import sql


@dataclass(frozen=True)
class LandedBatch:
    """What a run of a batch source (one raw batch per day) landed and changed."""

    batch_id: uuid.UUID
    raw_rows: int
    changed: dict[str, int]  # rows inserted or changed per OLTP table


@dataclass(frozen=True)
class LandedRaw:
    """What a `land` stage landed: the raw batch the later stages check and normalize."""

    batch_id: uuid.UUID
    raw_rows: int
    archive_keys: tuple[str, ...] = ()  # the archived responses it was parsed from


class BatchReplaced(RuntimeError):
    """The batch a stage was handed is no longer the day's batch: a later landing of the
    same source and day replaced it, so checking or normalizing it would act on rows that
    are gone (or skip a batch nobody checked)."""


def require_current_batch(conn, source: str, day: date, batch_id) -> uuid.UUID:
    """`batch_id` (as XCom carries it, a string) if it is still `source`'s batch for D;
    BatchReplaced otherwise."""
    batch_id = uuid.UUID(str(batch_id))
    row = conn.execute(
        "select batch_id from raw.batches where source = %s and logical_date = %s",
        (source, day),
    ).fetchone()
    if row is None or row[0] != batch_id:
        raise BatchReplaced(
            f"{source} batch {batch_id} of {day} is no longer the day's batch "
            f"({'none is landed' if row is None else f'{row[0]} replaced it'}): rerun the "
            "DAG for the day (its land stage lands a batch again)"
        )
    return batch_id


def batch_rows(conn, batch_id) -> int:
    """The rows landed in raw batch `batch_id`."""
    row = conn.execute(
        "select row_count from raw.batches where batch_id = %s", (uuid.UUID(str(batch_id)),)
    ).fetchone()
    return row[0] if row else 0


@dataclass(frozen=True)
class RawTable:
    """A raw table of a batch: `raw.<name>` and the columns its rows carry, in order."""

    name: str
    columns: tuple[str, ...]


@cache
def read_sql(package_file: str, name: str) -> str:
    """The statement in `sql/<name>.sql` next to `package_file` (a module's __file__)."""
    return (Path(package_file).parent / "sql" / f"{name}.sql").read_text().strip().rstrip(";")


def land_batch(
    conn, source: str, logical_date: date, tables: list[tuple[RawTable, list[tuple]]]
) -> uuid.UUID:
    """COPY each raw table's rows as one batch; replaces the batch of the same source/date."""
    batch_id = uuid.uuid4()
    loaded_at = datetime.now(UTC)
    with conn.transaction():
        conn.execute(
            "delete from raw.batches where source = %s and logical_date = %s",
            (source, logical_date),
        )
        conn.execute(
            "insert into raw.batches (batch_id, source, logical_date, row_count, loaded_at)"
            " values (%s, %s, %s, %s, %s)",
            (batch_id, source, logical_date, sum(len(rows) for _, rows in tables), loaded_at),
        )
        for table, rows in tables:
            cols = ("batch_id", "logical_date", "loaded_at", "source", "row_num") + table.columns
            copy_sql = sql.SQL("copy raw.{} ({}) from stdin").format(
                sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, cols))
            )
            with conn.cursor().copy(copy_sql) as copy:
                for row_num, row in enumerate(rows, start=1):
                    copy.write_row(
                        (batch_id, logical_date, loaded_at, source, row_num) + tuple(row)
                    )
    return batch_id


def upsert(
    conn,
    table: str,
    key: tuple[str, ...],
    cols: tuple[str, ...],
    select: str,
    params: dict,
    seen_on: str | None = None,
) -> int:
    """INSERT INTO oltp.<table> <select> ON CONFLICT DO UPDATE, only where a value changed
    (`updated_at` moves only then). Returns the rows inserted or changed.

    `seen_on` names a date column of `cols` that holds the day whose data the row holds
    (the select yields the day being normalized). Then a row changes only for a day at or
    after its own (an older day never rolls back values a newer day wrote; it still inserts
    rows that do not exist yet), `seen_on` itself is not compared, and a later day with the
    same values moves `seen_on` forward in a second statement that leaves `updated_at`."""
    if seen_on is not None and (seen_on not in cols or seen_on in key):
        raise ValueError(f"seen_on={seen_on!r} must be one of the non-key columns {cols}")
    non_key = [c for c in cols if c not in key]
    compared = [c for c in non_key if c != seen_on]
    t = sql.Identifier(table)
    guard = (
        sql.SQL("{t}.{s} <= excluded.{s} and ").format(t=t, s=sql.Identifier(seen_on))
        if seen_on
        else sql.SQL("")
    )
    stmt = sql.SQL(
        "insert into oltp.{t} ({cols}) {select} on conflict ({key}) do update set {sets}, "
        "updated_at = now() where {guard}({old}) is distinct from ({new})"
    ).format(
        t=t,
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
        select=sql.SQL(select),
        key=sql.SQL(", ").join(map(sql.Identifier, key)),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c)) for c in non_key
        ),
        guard=guard,
        old=sql.SQL(", ").join(
            sql.SQL("{t}.{c}").format(t=t, c=sql.Identifier(c)) for c in compared
        ),
        new=sql.SQL(", ").join(
            sql.SQL("excluded.{c}").format(c=sql.Identifier(c)) for c in compared
        ),
    )
    changed = conn.execute(stmt, params).rowcount
    if seen_on:
        s = sql.Identifier(seen_on)
        conn.execute(
            sql.SQL(
                "update oltp.{t} as o set {s} = d.{s} from ({select}) as d "
                "where ({o_key}) = ({d_key}) and o.{s} < d.{s}"
            ).format(
                t=t,
                s=s,
                select=sql.SQL(select),
                o_key=sql.SQL(", ").join(sql.SQL("o.{}").format(sql.Identifier(k)) for k in key),
                d_key=sql.SQL(", ").join(sql.SQL("d.{}").format(sql.Identifier(k)) for k in key),
            ),
            params,
        )
    return changed


def record_landed_day(conn, source: str, day: date) -> None:
    """Day D of `source` is complete (landed, checked, normalized): the warehouse's
    `source_landed_<source>` check reads it."""
    conn.execute(
        "insert into raw.landed_days (source, day) values (%s, %s) "
        "on conflict (source, day) do update set landed_at = now()",
        (source, day),
    )
