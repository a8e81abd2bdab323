"""PostgreSQL <-> warehouse reconciliation, recorded like every other check.

For every lake table (the registry in `include.lake`):
- `reconcile_row_count_<table>`: current rows, OLTP rows vs distinct keys in staging. Sources
  may write while the warehouse reconciles (another day's run, a backfill), so OLTP can
  hold rows no export has sent yet: staging must hold every row whose updated_at lies in
  an exported window it should hold (sql/settled_windows.sql: a window whose load may
  still be running left out) and no key OLTP lacks, i.e. those OLTP rows <= staged keys
  <= OLTP rows; when nothing was written since the last export, both ends are the OLTP
  count and the check is exact. For a day table, the raw rows of the days the warehouse
  holds, counted on both sides for the same days;
- `reconcile_day_rows_<table>`: for day D, the rows the lake export recorded vs staged;
- `reconcile_raw_day_rows_<table>` (day tables): the raw day's rows now vs staged;
- for a table with a `checksum_column` (`population`): `reconcile_<column>_sum` over the
  current rows, and `reconcile_day_<column>_sum`, the day's sum recomputed in PostgreSQL
  over the same updated_at window the export used;
and per registered source `source_landed_<name>` (timeliness): `warn` when the source has
not completed day D, so a build without it says which source is behind.
"""

from __future__ import annotations

from include.quality import CheckResult, RunContext, check, record_checks


def in_flight_minutes() -> int:
    """ELT_RECONCILE_IN_FLIGHT_MINUTES (default 360: a run's load follows its export within
    its tries): how long a day exported but not staged counts as a load still to come
    rather than a gap in staging."""
    import os

    return int(os.environ.get("ELT_RECONCILE_IN_FLIGHT_MINUTES", "360"))


def reconcile_warehouse(ctx: RunContext, source_conn_id: str = "source_db") -> list[CheckResult]:
    """Every reconciliation check for day `ctx.logical_date`, recorded; returns them."""
    from psycopg import sql

    from include.connections import pg_connect
    from include.lake import TABLES, target_name
    from include.warehouse import get_warehouse

    warehouse = get_warehouse()
    results = []
    with pg_connect(source_conn_id, autocommit=True) as conn:
        for table in TABLES:
            source_table = sql.SQL("{}.{}").format(
                sql.Identifier(table.schema), sql.Identifier(table.name)
            )
            staged_days = warehouse.staging_days(table.name)
            # A day table is compared over the days the warehouse holds, on both sides: a
            # raw day loaded but not yet through the warehouse is not "lost".
            if table.day_column:
                source = conn.execute(
                    sql.SQL("select count(*) from {} where {} = any(%s)").format(
                        source_table, sql.Identifier(table.day_column)
                    ),
                    (staged_days,),
                ).fetchone()[0]
                target = warehouse.staging_current_count(table.name, staged_days)
                ok, expected = source == target, source
            else:
                # In this order: the windows, the staged keys, then OLTP (rows only ever
                # join OLTP, so OLTP read last holds at least every staged key).
                windows = conn.execute(
                    _sql("settled_windows"),
                    {
                        "target": target_name(),
                        "table": table.name,
                        "staged": staged_days,
                        "in_flight_minutes": in_flight_minutes(),
                    },
                ).fetchall()
                lower, upper = _merged([(lo, hi) for hi, lo in windows])
                target = warehouse.staging_current_count(table.name)
                older, source = conn.execute(
                    sql.SQL(
                        "select count(*) filter (where exists (select 1 from "
                        "unnest(%(lower)s::timestamptz[], %(upper)s::timestamptz[]) w(lo, hi) "
                        "where t.updated_at >= w.lo and t.updated_at < w.hi)), count(*) "
                        "from {} t"
                    ).format(source_table),
                    {"lower": lower, "upper": upper},
                ).fetchone()
                ok = older <= target <= source
                expected = source if older == source else f"{older}..{source}"
            results.append(
                check(
                    f"reconcile_row_count_{table.name}",
                    "consistency",
                    f"staging.{table.name}",
                    ok,
                    target,
                    expected,
                )
            )
        for table in TABLES:
            if not table.checksum_column:
                continue
            column = table.checksum_column
            source_sum = conn.execute(
                sql.SQL("select coalesce(sum({}), 0) from {}.{}").format(
                    sql.Identifier(column), sql.Identifier(table.schema), sql.Identifier(table.name)
                )
            ).fetchone()[0]
            target_sum = warehouse.staging_latest_sum(table.name, column)
            results.append(
                check(
                    f"reconcile_{column}_sum",
                    "accuracy",
                    f"staging.{table.name}",
                    source_sum == target_sum,
                    target_sum,
                    source_sum,
                )
            )
        day = ctx.logical_date
        exports = {
            r[0]: r[1:]
            for r in conn.execute(
                "select table_name, row_count, watermark_from, watermark_to from lake.exports "
                "where target = %s and day = %s",
                (target_name(), day),
            )
        }
        for table in TABLES:
            if table.name not in exports:
                results.append(
                    check(
                        f"reconcile_day_rows_{table.name}",
                        "completeness",
                        f"staging.{table.name}",
                        False,
                        None,
                        "a lake export for the day",
                        day=str(day),
                    )
                )
                continue
            exported, low, high = exports[table.name]
            column = table.checksum_column
            rows, total = warehouse.staging_day_stats(table.name, day, column)
            results.append(
                check(
                    f"reconcile_day_rows_{table.name}",
                    "consistency",
                    f"staging.{table.name}",
                    rows == exported,
                    rows,
                    exported,
                    day=str(day),
                )
            )
            if table.day_column:  # the raw day itself, now (a reload after the export shows)
                raw_rows = conn.execute(
                    sql.SQL("select count(*) from {}.{} where {} = %s").format(
                        sql.Identifier(table.schema),
                        sql.Identifier(table.name),
                        sql.Identifier(table.day_column),
                    ),
                    (day,),
                ).fetchone()[0]
                results.append(
                    check(
                        f"reconcile_raw_day_rows_{table.name}",
                        "consistency",
                        f"staging.{table.name}",
                        rows == raw_rows,
                        rows,
                        raw_rows,
                        day=str(day),
                    )
                )
            if column:
                expected = conn.execute(
                    sql.SQL(
                        "select coalesce(sum({c}), 0) from {s}.{t} "
                        "where (%(low)s::timestamptz is null or updated_at >= %(low)s) "
                        "and (%(high)s::timestamptz is null or updated_at < %(high)s)"
                    ).format(
                        c=sql.Identifier(column),
                        s=sql.Identifier(table.schema),
                        t=sql.Identifier(table.name),
                    ),
                    {"low": low, "high": high},
                ).fetchone()[0]
                results.append(
                    check(
                        f"reconcile_day_{column}_sum",
                        "accuracy",
                        f"staging.{table.name}",
                        total == expected,
                        total,
                        expected,
                        day=str(day),
                    )
                )
        results += _sources_landed(conn, day)
        record_checks(conn, ctx, results)
    return results


def _merged(windows: list[tuple]) -> tuple[list, list]:
    """[lower, upper) windows sorted by lower, merged where they overlap or touch, as two
    lists (lowers, uppers)."""
    lower: list = []
    upper: list = []
    for lo, hi in windows:
        if upper and lo <= upper[-1]:
            upper[-1] = max(upper[-1], hi)
        else:
            lower.append(lo)
            upper.append(hi)
    return lower, upper


def _sql(name: str) -> str:
    from include.landing import read_sql

    return read_sql(__file__, name)


def _sources_landed(conn, day) -> list[CheckResult]:
    """`source_landed_<name>` per registered source: `warn` when the source has not
    completed day D (its DAG failed or has not run yet): the warehouse builds what the
    other sources landed, and this says which one is behind."""
    from include.sources import SOURCES

    out = []
    for name in SOURCES:
        done, latest = conn.execute(
            "select bool_or(day = %s), max(day) from raw.landed_days where source = %s",
            (day, name),
        ).fetchone()
        out.append(
            CheckResult(
                f"source_landed_{name}",
                "timeliness",
                f"source:{name}",
                "pass" if done else "warn",
                None if latest is None else str(latest),
                str(day),
                {"latest_landed_day": None if latest is None else str(latest)},
            )
        )
    return out


def reconcile_days(contexts: list[RunContext]) -> dict[str, dict[str, str]]:
    """Reconcile each day (one RunContext per day, recorded under its own logical date);
    raises DataQualityError after every day is recorded when any check failed."""
    from include.quality import raise_on_failures

    results, statuses = [], {}
    for ctx in sorted(contexts, key=lambda c: c.logical_date):
        day_results = reconcile_warehouse(ctx)
        results += day_results
        statuses[str(ctx.logical_date)] = {r.check_name: r.status for r in day_results}
    raise_on_failures(results)
    return statuses
