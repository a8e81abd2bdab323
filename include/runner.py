"""Run the pipeline for one logical date without a scheduler.

    python -m include.runner --date D [--summary]      # every DAG, dag.test(), in asset order
    python -m include.runner --date D --direct          # the same steps as plain functions

`make run DATE=D` and `make demo` run the DAGs themselves (DagBag + dag.test(logical_date=D)),
producers before the asset-scheduled DAGs that consume them, so the run is what the
scheduler would do: the same tasks, retries, failure callbacks and check records. A DAG
whose upstream DAG failed is not run, as its assets were not updated. `run()` is the
direct path (no Airflow metadata, no cosmos), used by tests that exercise the steps.
"""

from __future__ import annotations

import argparse
import importlib
import contextlib
import sys
import traceback
from datetime import date
from pathlib import Path

STEPS = (("states_page", "include.pipeline.states_page_batch"),
         ("census_population", "include.pipeline.census_batch"),
         ("yelp_businesses", "include.yelp_pipeline.yelp_batch"),
         ("amplitude_events", "include.amplitude_pipeline.amplitude_batch"))


def run(day: date, run_id: str | None = None) -> dict[str, dict | Exception]:
    from include.alerts import alert_failure
    from include.quality import RunContext

    run_id = run_id or f"cli__{day.isoformat()}"
    outcome: dict[str, dict | Exception] = {}
    for dag_id, path in STEPS:
        module, _, func = path.rpartition(".")
        ctx = RunContext(run_id=run_id, dag_id=dag_id, task_id=func, logical_date=day)
        try:
            outcome[dag_id] = getattr(importlib.import_module(module), func)(day, ctx)
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


DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"


def _asset_uris(condition) -> set[str]:
    if condition is None:
        return set()
    if hasattr(condition, "uri"):
        return {condition.uri}
    return set().union(*(_asset_uris(c) for c in getattr(condition, "objects", ())))


def dag_order(dags: dict) -> tuple[list[str], dict[str, set[str]]]:
    """Topological order: a DAG after every DAG whose task outlets feed its asset schedule
    or its tasks' inlets."""
    produces = {d: {a.uri for t in dag.tasks for a in (t.outlets or []) if hasattr(a, "uri")}
                for d, dag in dags.items()}
    # A DAG consumes the assets it is scheduled on and those its tasks declare as inlets
    # (read, not scheduled on: Yelp reads the counties the Census DAG writes).
    consumes = {d: _asset_uris(getattr(dag.timetable, "asset_condition", None))
                | {a.uri for t in dag.tasks for a in (t.inlets or []) if hasattr(a, "uri")}
                for d, dag in dags.items()}
    upstream = {d: {p for p in dags if p != d and produces[p] & consumes[d]} for d in dags}
    order, placed = [], set()
    while len(order) < len(dags):
        ready = sorted(d for d in dags if d not in placed and upstream[d] <= placed)
        if not ready:
            raise ValueError(f"asset cycle between DAGs: {sorted(set(dags) - placed)}")
        order += ready
        placed.update(ready)
    return order, upstream


def run_dags(day: date) -> dict[str, dict]:
    """dag.test() of every DAG for logical date D, in asset order. Returns per DAG its run
    id, state and failed tasks; a DAG downstream of a failed one is 'skipped'."""
    from datetime import datetime, timezone

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    order, upstream = dag_order(bag.dags)
    logical = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    outcome: dict[str, dict] = {}
    for dag_id in order:
        blocked = [u for u in upstream[dag_id] if outcome[u]["state"] != "success"]
        if blocked:
            outcome[dag_id] = {"state": "skipped", "run_id": None,
                               "failed": [f"upstream DAG failed: {', '.join(blocked)}"]}
            continue
        dr = bag.get_dag(dag_id).test(logical_date=logical)
        outcome[dag_id] = {"state": str(dr.state), "run_id": dr.run_id, "failed": sorted(
            ti.task_id for ti in dr.get_task_instances() if ti.state not in ("success", "skipped"))}
    return outcome


def _print_outcome(day: date, outcome: dict, log: Path | None) -> None:
    print(f"DAG runs for logical date {day.isoformat()}"
          + (f" (task logs: {log})" if log else ""))
    for dag_id, o in outcome.items():
        print(f"  {dag_id:<18} {o['state']:<8} {o['run_id'] or ''}"
              + (f"  failed: {', '.join(o['failed'])}" if o["failed"] else ""))


@contextlib.contextmanager
def _logs_to(path: Path | None):
    """Point this process's stdout/stderr (file descriptors, so every logger follows) at
    `path` for the duration; restore them afterwards."""
    import os

    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def summary(run_ids: list[str] | str) -> None:
    run_ids = [run_ids] if isinstance(run_ids, str) else [r for r in run_ids if r]
    from include.connections import pg_connect

    with pg_connect("source_db") as conn:
        print("\nOLTP model (source_db):")
        for table in ("oltp.state", "oltp.census_state", "oltp.county", "oltp.county_population",
                      "oltp.business", "oltp.city", "oltp.category", "oltp.review",
                      "oltp.yelp_user", "oltp.business_holding"):
            print(f"  {table:<26} {conn.execute(f'select count(*) from {table}').fetchone()[0]:>8} rows")
        print("\nAmplitude raw (source_db):")
        for table in ("raw.amplitude_event", "raw.amplitude_event_property",
                      "raw.amplitude_quarantine"):
            print(f"  {table:<30} {conn.execute(f'select count(*) from {table}').fetchone()[0]:>8} rows")
        print("\nquality.check_results for this run:")
        for dag_id, status, n in conn.execute(
                "select dag_id, status, count(*) from quality.check_results where run_id = "
                "any(%s) group by 1, 2 order by 1, 2", (run_ids,)):
            print(f"  {dag_id:<18} {status:<5} {n:>4} checks")
        for row in conn.execute(
                "select dag_id, check_name, observed, expected from quality.check_results "
                "where run_id = any(%s) and status <> 'pass' order by id", (run_ids,)):
            print(f"  NOT PASSED: {row[0]} {row[1]} observed={row[2]} expected={row[3]}")
    with pg_connect("warehouse_db") as conn:
        print("\nWarehouse marts (warehouse_db, schema marts):")
        for table in ("dim_state", "dim_county", "dim_date", "fct_county_population",
                      "dim_city", "dim_business", "dim_category", "bridge_business_category",
                      "dim_transaction_type", "bridge_business_transaction", "dim_user",
                      "fct_review", "fct_business_holding", "fct_amplitude_event",
                      "amplitude_event_property", "fct_amplitude_daily_active_users"):
            print(f"  marts.{table:<34} "
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
    parser.add_argument("--log", type=Path,
                        help="send the task logs to this file; print only the outcome")
    parser.add_argument("--direct", action="store_true",
                        help="run the steps as plain functions instead of the DAGs")
    args = parser.parse_args(argv)
    if args.direct:
        run_id = f"cli__{args.date.isoformat()}"
        outcome = run(args.date, run_id=run_id)
        failed = any(isinstance(v, Exception) for v in outcome.values())
        run_ids = [run_id]
    else:
        with _logs_to(args.log):
            outcome = run_dags(args.date)
        _print_outcome(args.date, outcome, args.log)
        failed = any(o["state"] != "success" for o in outcome.values())
        run_ids = [o["run_id"] for o in outcome.values()]
    if args.summary:
        summary(run_ids)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
