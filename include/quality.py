"""Check results, one row each in `quality.check_results`: the raw-batch suites
(include/gx_suites.py), dbt tests (include/dbt_runner.py) and the Postgres <-> warehouse
reconciliation below."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


class DataQualityError(RuntimeError):
    """A blocking check failed: the batch must not be normalized."""


@dataclass
class CheckResult:
    check_name: str
    dimension: str
    target: str
    status: str
    observed: object = None
    expected: object = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RunContext:
    run_id: str
    dag_id: str
    task_id: str
    logical_date: object


def _check(name, dimension, target, ok, observed, expected, **details) -> CheckResult:
    return CheckResult(name, dimension, target, "pass" if ok else "fail", observed, expected,
                       details)


def record_checks(conn, ctx: RunContext, results: list[CheckResult]) -> None:
    """Replace this run+task's earlier results (a retry re-records), then insert."""
    with conn.transaction():
        conn.execute("delete from quality.check_results where run_id = %s and dag_id = %s "
                     "and task_id = %s", (ctx.run_id, ctx.dag_id, ctx.task_id))
        with conn.cursor() as cur:
            cur.executemany(
                "insert into quality.check_results (run_id, dag_id, task_id, logical_date, "
                "check_name, dimension, target, status, observed, expected, details) "
                "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                [(ctx.run_id, ctx.dag_id, ctx.task_id, ctx.logical_date, r.check_name,
                  r.dimension, r.target, r.status, None if r.observed is None else str(r.observed),
                  None if r.expected is None else str(r.expected), json.dumps(r.details))
                 for r in results])


def raise_on_failures(results: list[CheckResult]) -> None:
    failed = [r.check_name for r in results if r.status in ("fail", "error")]
    if failed:
        raise DataQualityError(f"blocking checks failed: {', '.join(failed)}")


def reconcile_warehouse(ctx: RunContext, source_conn_id: str = "source_db") -> list[CheckResult]:
    """Postgres ↔ warehouse, recorded like every other check: per table the current rows
    (OLTP vs distinct keys in staging; for the Amplitude day tables, raw rows of the exported
    days the warehouse holds) and the population sum; for day D per table the rows exported vs the rows staged,
    the day's population checksum, and for day tables the raw day's rows vs staged."""
    from psycopg import sql

    from include.connections import pg_connect
    from include.lake_export import TABLES
    from include.warehouse import get_warehouse

    warehouse = get_warehouse()
    results = []
    with pg_connect(source_conn_id, autocommit=True) as conn:
        for table in TABLES:
            # A day table is compared over the days the warehouse holds: a raw day loaded
            # but not yet through the warehouse is not "lost".
            if table.day_column:
                source = conn.execute(sql.SQL("select count(*) from {}.{} where {} = any(%s)")
                                      .format(sql.Identifier(table.schema),
                                              sql.Identifier(table.name),
                                              sql.Identifier(table.day_column)),
                                      (warehouse.staging_days(table.name),)).fetchone()[0]
            else:
                source = conn.execute(sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(table.schema), sql.Identifier(table.name))).fetchone()[0]
            target = warehouse.staging_current_count(table.name)
            results.append(_check(f"reconcile_row_count_{table.name}", "consistency",
                                  f"staging.{table.name}", source == target, target, source))
        source_sum = conn.execute("select coalesce(sum(population), 0) from "
                                  "oltp.county_population").fetchone()[0]
        target_sum = warehouse.staging_latest_sum("county_population", "population")
        results.append(_check("reconcile_population_sum", "accuracy", "staging.county_population",
                              source_sum == target_sum, target_sum, source_sum))
        # Day D itself: the rows the lake export recorded for D against what staging holds
        # for D, and for the fact a checksum (population sum) recomputed in PostgreSQL over
        # the same updated_at window the export used.
        day = ctx.logical_date
        exports = {r[0]: r[1:] for r in conn.execute(
            "select table_name, row_count, watermark_from, watermark_to from lake.exports "
            "where day = %s", (day,))}
        for table in TABLES:
            if table.name not in exports:
                results.append(_check(f"reconcile_day_rows_{table.name}", "completeness",
                                      f"staging.{table.name}", False, None,
                                      "a lake export for the day", day=str(day)))
                continue
            exported, low, high = exports[table.name]
            column = "population" if table.name == "county_population" else None
            rows, total = warehouse.staging_day_stats(table.name, day, column)
            results.append(_check(f"reconcile_day_rows_{table.name}", "consistency",
                                  f"staging.{table.name}", rows == exported, rows, exported,
                                  day=str(day)))
            if table.day_column:  # the raw day itself, now (a reload after the export shows)
                raw_rows = conn.execute(sql.SQL("select count(*) from {}.{} where {} = %s").format(
                    sql.Identifier(table.schema), sql.Identifier(table.name),
                    sql.Identifier(table.day_column)), (day,)).fetchone()[0]
                results.append(_check(f"reconcile_raw_day_rows_{table.name}", "consistency",
                                      f"staging.{table.name}", rows == raw_rows, rows, raw_rows,
                                      day=str(day)))
            if column:
                expected = conn.execute(
                    "select coalesce(sum(population), 0) from oltp.county_population "
                    "where (%(low)s::timestamptz is null or updated_at > %(low)s) "
                    "and (%(high)s::timestamptz is null or updated_at <= %(high)s)",
                    {"low": low, "high": high}).fetchone()[0]
                results.append(_check("reconcile_day_population_sum", "accuracy",
                                      "staging.county_population", total == expected, total,
                                      expected, day=str(day)))
        record_checks(conn, ctx, results)
    return results
