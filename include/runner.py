"""Run the pipeline for one logical date without a scheduler: `make run DATE=...`.

Runs each source's batch in dependency order, records checks, alerts Slack on failure
(one message per failed step, one per run with failed checks) and exits non-zero when
anything failed.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from datetime import date

STEPS = (("states_page", "states_page_batch"), ("census_population", "census_batch"))


def run(day: date, run_id: str | None = None) -> dict[str, dict | Exception]:
    from include import pipeline
    from include.alerts import alert_failure
    from include.quality import RunContext

    run_id = run_id or f"cli__{day.isoformat()}"
    outcome: dict[str, dict | Exception] = {}
    for dag_id, func in STEPS:
        ctx = RunContext(run_id=run_id, dag_id=dag_id, task_id=func, logical_date=day)
        try:
            outcome[dag_id] = getattr(pipeline, func)(day, ctx)
            print(f"{dag_id:<18} ok      {outcome[dag_id]['changed']}")
        except Exception as exc:  # noqa: BLE001 - report, alert, carry on with the next source
            outcome[dag_id] = exc
            print(f"{dag_id:<18} FAILED  {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc(limit=3)
            alert_failure(dag_id, func, run_id, day, f"{type(exc).__name__}: {exc}")
    if any(isinstance(v, Exception) for v in outcome.values()):
        print("lake_export        skipped: an upstream source failed", file=sys.stderr)
        return outcome
    from include.lake_export import export_day

    try:
        exported = export_day(day)
        outcome["lake_export"] = {"changed": {e["key"]: e["rows"] for e in exported}}
        print(f"{'lake_export':<18} ok      " + ", ".join(
            f"{e['table']}={e['rows']}" for e in exported))
    except Exception as exc:  # noqa: BLE001
        outcome["lake_export"] = exc
        print(f"lake_export        FAILED  {type(exc).__name__}: {exc}", file=sys.stderr)
        alert_failure("lake_export", "export_day", run_id, day, f"{type(exc).__name__}: {exc}")
        return outcome
    from include.warehouse import get_warehouse

    try:
        loaded = get_warehouse().load_day(day)
        outcome["warehouse_load"] = {"changed": loaded}
        print(f"{'warehouse_load':<18} ok      {loaded}")
        from include.quality import RunContext, raise_on_failures, reconcile_warehouse

        ctx = RunContext(run_id=run_id, dag_id="warehouse", task_id="reconcile",
                         logical_date=day)
        results = reconcile_warehouse(ctx)
        print(f"{'reconcile':<18} " + ", ".join(f"{r.check_name}={r.status}" for r in results))
        raise_on_failures(results)
        from include.dbt_runner import build_and_record

        dbt_checks = build_and_record(RunContext(run_id=run_id, dag_id="warehouse",
                                                 task_id="dbt_build", logical_date=day))
        print(f"{'dbt_build':<18} ok      {len(dbt_checks)} tests passed")
    except Exception as exc:  # noqa: BLE001
        outcome["warehouse_load"] = exc
        print(f"warehouse_load     FAILED  {type(exc).__name__}: {exc}", file=sys.stderr)
        alert_failure("warehouse", "load_reconcile_dbt", run_id, day,
                      f"{type(exc).__name__}: {exc}")
    return outcome


def summary(run_id: str) -> None:
    from include.connections import pg_connect

    with pg_connect("source_db") as conn:
        print("\nOLTP model (source_db):")
        for table in ("oltp.state", "oltp.census_state", "oltp.county", "oltp.county_population"):
            print(f"  {table:<26} {conn.execute(f'select count(*) from {table}').fetchone()[0]:>8} rows")
        print(f"\nquality.check_results for run {run_id}:")
        for dag_id, status, n in conn.execute(
                "select dag_id, status, count(*) from quality.check_results where run_id = %s "
                "group by 1, 2 order by 1, 2", (run_id,)):
            print(f"  {dag_id:<18} {status:<5} {n:>4} checks")
        for row in conn.execute(
                "select dag_id, check_name, observed, expected from quality.check_results "
                "where run_id = %s and status <> 'pass' order by id", (run_id,)):
            print(f"  NOT PASSED: {row[0]} {row[1]} observed={row[2]} expected={row[3]}")
    with pg_connect("warehouse_db") as conn:
        print("\nWarehouse marts (warehouse_db, schema marts):")
        for table in ("dim_state", "dim_county", "dim_date", "fct_county_population"):
            print(f"  marts.{table:<26} "
                  f"{conn.execute(f'select count(*) from marts.{table}').fetchone()[0]:>8} rows")
    print("\nLook around:"
          "\n  eval \"$(make -s env)\""
          "\n  psql postgresql://elt:elt-local@127.0.0.1:54329/warehouse -c 'table marts.dim_state'"
          "\n  psql postgresql://elt:elt-local@127.0.0.1:54329/source -c 'table quality.check_results'"
          "\n  Slack sink messages: .local/slack_messages.jsonl"
          "\n  make up    # Airflow UI on http://127.0.0.1:8080 (login printed)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, type=date.fromisoformat)
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args(argv)
    run_id = f"cli__{args.date.isoformat()}"
    outcome = run(args.date, run_id=run_id)
    if args.summary:
        summary(run_id)
    return 1 if any(isinstance(v, Exception) for v in outcome.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
