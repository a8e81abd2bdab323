"""Versioned migrations: one runner for the source database and the warehouse staging.

A set of migrations is a folder of files `<P><NNN>__<name>.sql` (P: the set's letter), a
connection and a history table:

  source_db     include/migrations/V<NNN>__*.sql          public.schema_migrations
  warehouse_db  include/warehouse/migrations/W<NNN>__*.sql public.warehouse_migrations
                (the PostgreSQL warehouse's staging schema; BigQuery's staging has its own
                runner over the same rules: include/warehouse/bigquery.py)

Files apply once each, in number order, each in its own transaction (a failing file rolls
back alone; the files before it stay applied), recorded in the history table under the
file name with the file's SHA-256. A released file is never renamed or edited: when an
applied file's checksum no longer matches, the migrator refuses to run anything
(MigrationChanged) until it is restored. Files applied before checksums were recorded get
theirs recorded on the next run. A `.sql` file in the folder whose name does not follow
the pattern, or two files with one number, are refused (MigrationNameError), never skipped.
Run: python -m include.migrations (the source set and the warehouse target's set)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

MIGRATIONS = Path(__file__).parent
TABLE = "public.schema_migrations"


class MigrationChanged(RuntimeError):
    """An applied migration file differs from what was applied."""


class MigrationNameError(ValueError):
    """A migration folder holds a file the runner would not know how to order."""


@dataclass(frozen=True)
class MigrationSet:
    """Where a set of migrations lives and where it is applied and recorded."""

    name: str  # for messages
    conn_id: str
    directory: Path
    table: str  # the history table, schema-qualified
    prefix: str  # the file names' letter


SOURCE = MigrationSet("source_db", "source_db", MIGRATIONS, TABLE, "V")


def pending(applied, directory: Path = MIGRATIONS, prefix: str = "V") -> list[Path]:
    """The files of `directory` not in `applied`, in number order."""
    return [f for f in files(directory, prefix) if f.name not in applied]


def files(directory: Path, prefix: str = "V") -> list[Path]:
    """Every migration file of `directory`, in number order; refuses a `.sql` file that
    does not follow `<prefix><NNN>__<name>.sql` and a number used twice."""
    if not directory.is_dir():
        raise MigrationNameError(f"{directory}: no such migrations folder")
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)__\w+\.sql")
    numbered: dict[int, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        match = pattern.fullmatch(path.name)
        if not match:
            raise MigrationNameError(
                f"{path}: not a migration name; expected {prefix}<NNN>__<name>.sql"
            )
        number = int(match[1])
        if number in numbered:
            raise MigrationNameError(
                f"{path} and {numbered[number].name}: two migrations numbered {number}"
            )
        numbered[number] = path
    return [numbered[n] for n in sorted(numbered)]


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_applied(applied: dict[str, str | None], directory: Path) -> list[Path]:
    """Raise MigrationChanged when an applied file differs from what was applied; returns
    the applied files that have no checksum recorded yet. A file removed on purpose is not
    compared."""
    unrecorded = []
    for version, recorded in applied.items():
        path = directory / version
        if not path.is_file():
            continue
        if recorded is None:
            unrecorded.append(path)
        elif recorded != checksum(path):
            raise MigrationChanged(
                f"{path}: changed since it was applied (checksum {recorded[:12]}..., "
                f"now {checksum(path)[:12]}...): restore it and add a new migration"
            )
    return unrecorded


def migrate(
    conn_id: str = "source_db",
    directory: Path = MIGRATIONS,
    table: str = TABLE,
    prefix: str = "V",
) -> list[str]:
    """Apply the pending files of `directory` on `conn_id`, recorded in `table`; returns
    their names."""
    from include.connections import pg_connect

    schema, _, name = table.rpartition(".")
    target = sql.Identifier(schema or "public", name)
    files(directory, prefix)  # a misnamed file is refused before anything runs
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
            for path in verify_applied(applied, directory):
                conn.execute(
                    sql.SQL("update {} set checksum = %s where version = %s").format(target),
                    (checksum(path), path.name),
                )
            for path in pending(set(applied), directory, prefix):
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


def migrate_set(migrations: MigrationSet, conn_id: str | None = None) -> list[str]:
    """Apply a set's pending files (on `conn_id` instead of its own connection if given)."""
    return migrate(
        conn_id or migrations.conn_id, migrations.directory, migrations.table, migrations.prefix
    )
