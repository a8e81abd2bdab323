"""copy_upsert (the benchmarked load path): inserts new keys, updates changed rows only."""

import psycopg
import pytest

from include.connections import pg_connect
from include.postgres_load import copy_upsert

pytestmark = pytest.mark.integration
COLS, TYPES = ("id", "name"), ("int8", "text")


def test_insert_update_and_skip_unchanged():
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute("drop table if exists oltp.t_copy_upsert")
        conn.execute("create table oltp.t_copy_upsert (id bigint primary key, name text, "
                     "updated_at timestamptz not null default now())")
        try:
            assert copy_upsert(conn, "t_copy_upsert", ("id",), COLS,
                               [(1, "a"), (2, "b"), (3, None)], TYPES) == 3
            stamps = dict(conn.execute("select id, updated_at from oltp.t_copy_upsert"))
            # 1 unchanged, 2 changed, 3 null -> value, 4 new
            n = copy_upsert(conn, "t_copy_upsert", ("id",), COLS,
                            [(1, "a"), (2, "B"), (3, "c"), (4, "Doña")], TYPES)
            assert n == 3
            rows = {r[0]: r[1:] for r in conn.execute(
                "select id, name, updated_at from oltp.t_copy_upsert")}
            assert {k: v[0] for k, v in rows.items()} == {1: "a", 2: "B", 3: "c", 4: "Doña"}
            assert rows[1][1] == stamps[1]  # untouched
            assert rows[2][1] > stamps[2]
        finally:
            conn.execute("drop table oltp.t_copy_upsert")


def test_repeated_key_fails_and_changes_nothing():
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute("drop table if exists oltp.t_copy_upsert_dup")
        conn.execute("create table oltp.t_copy_upsert_dup (id bigint primary key, name text, "
                     "updated_at timestamptz not null default now())")
        try:
            # First load (empty target: COPY straight into it).
            with pytest.raises(psycopg.errors.UniqueViolation):
                copy_upsert(conn, "t_copy_upsert_dup", ("id",), COLS, [(1, "a"), (1, "b")], TYPES)
            assert conn.execute("select count(*) from oltp.t_copy_upsert_dup").fetchone()[0] == 0
            assert copy_upsert(conn, "t_copy_upsert_dup", ("id",), COLS, [(1, "a")], TYPES) == 1
            # Later load (MERGE): an existing key changed twice.
            with pytest.raises(psycopg.errors.CardinalityViolation):
                copy_upsert(conn, "t_copy_upsert_dup", ("id",), COLS,
                            [(1, "x"), (1, "y"), (2, "new")], TYPES)
            assert conn.execute("select id, name from oltp.t_copy_upsert_dup").fetchall() == [
                (1, "a")]
        finally:
            conn.execute("drop table oltp.t_copy_upsert_dup")
