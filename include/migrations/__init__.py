"""Versioned migrations for the source database (`source_db`).

Files `include/migrations/V<NNN>__<name>.sql` apply once each, in order, each in its
own transaction, recorded in `public.schema_migrations` under the file name (so a file is
never renamed once released). Run: python -m include.migrations
"""

from __future__ import annotations

import re
from pathlib import Path

MIGRATIONS = Path(__file__).parent


def pending(applied: set[str]) -> list[Path]:
    files = sorted(MIGRATIONS.glob("V*__*.sql"), key=lambda p: int(re.match(r"V(\d+)", p.name)[1]))
    return [f for f in files if f.name not in applied]


def migrate(conn_id: str = "source_db") -> list[str]:
    from include.connections import pg_connect

    done = []
    with pg_connect(conn_id) as conn:
        conn.execute(
            "create table if not exists public.schema_migrations ("
            "version text primary key, applied_at timestamptz not null default now())"
        )
        # One migrator at a time, even with concurrent `make` runs.
        conn.execute("select pg_advisory_xact_lock(hashtext('schema_migrations'))")
        applied = {r[0] for r in conn.execute("select version from public.schema_migrations")}
        for path in pending(applied):
            conn.execute(path.read_text())
            conn.execute("insert into public.schema_migrations (version) values (%s)", (path.name,))
            done.append(path.name)
    return done
