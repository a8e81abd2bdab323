"""Versioned migrations for the source database (`source_db`).

Files `include/migrations/V<NNN>__<name>.sql` apply once each, in order, each in its own
transaction (a failing file rolls back alone; the files before it stay applied), recorded
in `public.schema_migrations` under the file name with the file's SHA-256. A released file
is never renamed or edited: when an applied file's checksum no longer matches, the
migrator refuses to run anything (MigrationChanged) until it is restored. Files applied
before checksums were recorded get theirs recorded on the next run.
Run: python -m include.migrations
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from psycopg import sql

MIGRATIONS = Path(__file__).parent
TABLE = "public.schema_migrations"


class MigrationChanged(RuntimeError):
    """An applied migration file differs from what was applied."""


def pending(applied: set[str], directory: Path = MIGRATIONS) -> list[Path]:
    files = sorted(directory.glob("V*__*.sql"), key=lambda p: int(re.match(r"V(\d+)", p.name)[1]))
    return [f for f in files if f.name not in applied]


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def migrate(
    conn_id: str = "source_db", directory: Path = MIGRATIONS, table: str = TABLE
) -> list[str]:
    """Apply the pending files of `directory`; returns their names."""
    from include.connections import pg_connect

    schema, _, name = table.rpartition(".")
    target = sql.Identifier(schema or "public", name)
    done = []
    with pg_connect(conn_id, autocommit=True) as conn:
        # One migrator at a time, even with concurrent `make` runs (a session lock: it
        # spans the per-file transactions).
        conn.execute("select pg_advisory_lock(hashtext(%s))", (table,))
        try:
            conn.execute(
                sql.SQL(
                    "create table if not exists {} (version text primary key, "
                    "applied_at timestamptz not null default now())"
                ).format(target)
            )
            conn.execute(
                sql.SQL("alter table {} add column if not exists checksum text").format(target)
            )
            applied = dict(conn.execute(sql.SQL("select version, checksum from {}").format(target)))
            for version, recorded in applied.items():
                path = directory / version
                if not path.is_file():
                    continue  # an old file removed on purpose: nothing to compare
                if recorded is None:
                    conn.execute(
                        sql.SQL("update {} set checksum = %s where version = %s").format(target),
                        (checksum(path), version),
                    )
                elif recorded != checksum(path):
                    raise MigrationChanged(
                        f"{path}: changed since it was applied (checksum {recorded[:12]}..., "
                        f"now {checksum(path)[:12]}...): restore it and add a new migration"
                    )
            for path in pending(set(applied), directory):
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute(
                        sql.SQL("insert into {} (version, checksum) values (%s, %s)").format(
                            target
                        ),
                        (path.name, checksum(path)),
                    )
                done.append(path.name)
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (table,))
    return done
