"""Land raw batches in PostgreSQL with COPY and normalize them into the OLTP model.

A batch is (source, logical date). Landing a batch replaces any earlier batch of the same
source and date in one transaction, so a rerun leaves the same raw rows. Normalizing is
one upsert per table that skips unchanged rows (`updated_at` moves only on change).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from psycopg import sql

RAW_COLUMNS = {
    "states_page": ("state_name", "state_code", "is_state"),
    "census_county_population": ("county_name", "state_name", "state_fips", "county_fips",
                                 "date_code", "population_year", "population"),
    "census_state": ("state_fips", "state_name"),
}


def land_batch(conn, source: str, logical_date: date, tables: dict[str, list[tuple]]) -> uuid.UUID:
    """COPY each raw table's rows as one batch; replaces the batch of the same source/date."""
    batch_id = uuid.uuid4()
    loaded_at = datetime.now(timezone.utc)
    with conn.transaction():
        conn.execute("delete from raw.batches where source = %s and logical_date = %s",
                     (source, logical_date))
        conn.execute("insert into raw.batches (batch_id, source, logical_date, row_count, loaded_at)"
                     " values (%s, %s, %s, %s, %s)",
                     (batch_id, source, logical_date, sum(map(len, tables.values())), loaded_at))
        for table, rows in tables.items():
            cols = ("batch_id", "logical_date", "loaded_at", "source", "row_num") + RAW_COLUMNS[table]
            copy_sql = sql.SQL("copy raw.{} ({}) from stdin").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols)))
            with conn.cursor().copy(copy_sql) as copy:
                for row_num, row in enumerate(rows, start=1):
                    copy.write_row((batch_id, logical_date, loaded_at, source, row_num) + tuple(row))
    return batch_id


def _upsert(conn, table: str, key: tuple[str, ...], cols: tuple[str, ...], select: str,
            params: dict) -> int:
    """INSERT ... SELECT ... ON CONFLICT DO UPDATE only where a value changed."""
    non_key = [c for c in cols if c not in key]
    stmt = sql.SQL(
        "insert into oltp.{t} ({cols}) {select} on conflict ({key}) do update set {sets}, "
        "updated_at = now() where ({old}) is distinct from ({new})"
    ).format(
        t=sql.Identifier(table),
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
        select=sql.SQL(select),
        key=sql.SQL(", ").join(map(sql.Identifier, key)),
        sets=sql.SQL(", ").join(sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c))
                                for c in non_key),
        old=sql.SQL(", ").join(sql.SQL("{t}.{c}").format(t=sql.Identifier(table),
                                                          c=sql.Identifier(c)) for c in non_key),
        new=sql.SQL(", ").join(sql.SQL("excluded.{c}").format(c=sql.Identifier(c))
                               for c in non_key),
    )
    return conn.execute(stmt, params).rowcount


def normalize_states(conn, batch_id: uuid.UUID) -> dict[str, int]:
    with conn.transaction():
        n = _upsert(conn, "state", ("state_code",), ("state_code", "state_name", "is_state"),
                    "select state_code, state_name, is_state from raw.states_page "
                    "where batch_id = %(b)s order by row_num", {"b": batch_id})
    return {"oltp.state": n}


def normalize_census(conn, batch_id: uuid.UUID) -> dict[str, int]:
    """States, counties and county population by year (July 1 estimates only: DATE_CODE
    1-2 are the 2010 census/base and stay in raw)."""
    p = {"b": batch_id}
    with conn.transaction():
        changed = {
            "oltp.census_state": _upsert(
                conn, "census_state", ("state_fips",), ("state_fips", "state_name"),
                "select state_fips, state_name from raw.census_state where batch_id = %(b)s", p),
            "oltp.county": _upsert(
                conn, "county", ("county_fips",), ("county_fips", "state_fips", "county_name"),
                "select distinct on (county_fips) county_fips, state_fips, county_name "
                "from raw.census_county_population where batch_id = %(b)s "
                "order by county_fips, date_code desc", p),
            "oltp.county_population": _upsert(
                conn, "county_population", ("county_fips", "population_year"),
                ("county_fips", "population_year", "population"),
                "select county_fips, population_year, population "
                "from raw.census_county_population "
                "where batch_id = %(b)s and population_year is not null", p),
        }
    return changed


def copy_upsert(conn, table: str, key: tuple[str, ...], cols: tuple[str, ...], rows,
                types: tuple[str, ...]) -> int:
    """Upsert rows into `oltp.<table>` with binary COPY, in one transaction; unchanged rows
    are not touched (a rerun rewrites nothing, `updated_at` included). Returns the rows
    inserted or changed.

    An empty target (a first load) gets the COPY straight into it. Otherwise the rows are
    COPYed into an unindexed temp table and one `MERGE` (one join) updates the rows whose
    values differ and inserts the new keys. Keys must be unique within `rows`; a repeated key
    fails the call (unique violation for a new key, MERGE's "cannot affect row a second time"
    for an existing one changed twice) rather than silently picking one of the rows.
    Callers must not run it concurrently on the same table (the DAGs use max_active_runs=1);
    the SHARE ROW EXCLUSIVE lock keeps other writers out while it decides and writes."""
    target = sql.Identifier(table)
    col_list = sql.SQL(", ").join(map(sql.Identifier, cols))
    # Staging rows stay in session-local memory instead of spilling to disk (takes effect
    # only before the session's first temp table; harmless afterwards).
    conn.execute("set temp_buffers = '256MB'")
    with conn.transaction():
        conn.execute(sql.SQL("lock table oltp.{} in share row exclusive mode").format(target))
        empty = conn.execute(sql.SQL("select not exists (select from oltp.{})")
                             .format(target)).fetchone()[0]
        dest = sql.SQL("oltp.{}").format(target) if empty else sql.Identifier(f"_stage_{table}")
        if not empty:
            conn.execute(sql.SQL("create temp table {} (like oltp.{} including defaults) "
                                 "on commit drop").format(dest, target))
        with conn.cursor() as cur:
            with cur.copy(sql.SQL("copy {} ({}) from stdin (format binary)").format(
                    dest, col_list)) as copy:
                copy.set_types(list(types))
                for row in rows:
                    copy.write_row(row)
            if empty:
                return cur.rowcount
        # The join hashes the target's keys; the default 4MB work_mem spills it to disk
        # (two batches at 200k rows). Transaction-local, so the session keeps its setting.
        conn.execute("set local work_mem = '64MB'")
        non_key = [c for c in cols if c not in key]
        return conn.execute(sql.SQL(
            "merge into oltp.{t} t using {s} s on {m} "
            "when matched and ({old}) is distinct from ({new}) then update set {sets}, "
            "updated_at = now() "
            "when not matched then insert ({cols}) values ({scols})").format(
            t=target, s=dest, cols=col_list,
            m=sql.SQL(" and ").join(
                sql.SQL("t.{k} = s.{k}").format(k=sql.Identifier(k)) for k in key),
            old=sql.SQL(", ").join(sql.SQL("t.{c}").format(c=sql.Identifier(c)) for c in non_key),
            new=sql.SQL(", ").join(sql.SQL("s.{c}").format(c=sql.Identifier(c)) for c in non_key),
            sets=sql.SQL(", ").join(sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c))
                                    for c in non_key),
            scols=sql.SQL(", ").join(sql.SQL("s.{c}").format(c=sql.Identifier(c))
                                     for c in cols))).rowcount
