"""Arrow straight from and into PostgreSQL: the ADBC PostgreSQL driver (libpq; COPY binary
both ways, record batches in C++, no Python row in between). The lake export reads with it
(`include.lake.export`), the local warehouse's staging load writes with it
(`include.warehouse.postgres`).

A connection is opened from a psycopg connection (`adbc_connect`): the same server,
database, role and session options (the statement and lock timeouts of `pg_connect`), so
it is bounded like every other PostgreSQL session. Its connection string holds the
password: the password is registered with the redactor first, the string is never logged,
and every ADBC error leaves through `adbc_errors` as an `AdbcError` whose text is redacted
(the driver's own exception, which could carry what it was given, is not chained).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# What is carried over from the psycopg connection (libpq parameters that every libpq since
# PostgreSQL 12 knows: the driver bundles its own libpq, which may be older than psycopg's).
CONNINFO_KEYS = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "connect_timeout",
        "options",
        "application_name",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "target_session_attrs",
    }
)


class AdbcError(RuntimeError):
    """A PostgreSQL error met through ADBC, its text redacted."""


@contextmanager
def adbc_errors(what: str) -> Iterator[None]:
    """Re-raise an ADBC (or Arrow stream) error as AdbcError: `what` failed, the driver's
    message redacted, the original not chained (its text is not redacted)."""
    import adbc_driver_manager
    import pyarrow as pa

    from include.connections.secrets import redact

    try:
        yield
    except (adbc_driver_manager.Error, pa.ArrowException) as exc:
        message = redact(f"{what}: {type(exc).__name__}: {exc}".rstrip())
        raise AdbcError(message) from None


def conninfo(pg_conn) -> str:
    """The libpq connection string of psycopg connection `pg_conn` (password included:
    never log it)."""
    from psycopg.conninfo import make_conninfo

    from include.connections.secrets import register

    params = {k: v for k, v in pg_conn.info.get_parameters().items() if k in CONNINFO_KEYS}
    password = pg_conn.info.password
    if password:
        register(password)
        params["password"] = password
    return make_conninfo("", **params)


def adbc_connect(pg_conn, *, autocommit: bool = True):
    """An ADBC DB-API connection to what psycopg connection `pg_conn` is connected to (its
    host, port, database, role and session options). With `autocommit=False` it is in a
    transaction until `commit()`; closing it without one rolls back."""
    import adbc_driver_postgresql.dbapi

    dsn = conninfo(pg_conn)
    with adbc_errors("ADBC connection to PostgreSQL"):
        return adbc_driver_postgresql.dbapi.connect(dsn, autocommit=autocommit)
