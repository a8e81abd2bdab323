"""Run every DAG of the pipeline for one logical date without a scheduler.

    python -m local.run --date D [--summary] [--log FILE]

SIGTERM or SIGINT stops the run within a grace period (the DAG runs are in a child session
that is stopped as a whole), with status 128 + the signal.

`make run DATE=D` and `make demo` run the DAGs themselves (DagBag + dag.test(logical_date=D)),
producers before the asset-scheduled DAGs that consume them, so the run is what the
scheduler would do: the same tasks, retries, failure callbacks and check records. A DAG
scheduled on assets runs when its asset condition holds for the assets this run updated
(the warehouse's `(states & census) | yelp | amplitude`: a failed Yelp run does not hold
back the other sources' day), as under the scheduler; a DAG that reads an asset as an inlet
(Yelp reads Census's counties) is not run when that asset's producer failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from datetime import UTC, date
from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
# One file per `make run` process (<pid>.json): the DAG runs it made. A run listed by a
# process that is gone can never finish (dag.test() runs its tasks in that process).
OWNED_RUNS_DIR = (
    Path(os.environ.get("ELT_LOCAL_DIR", Path(__file__).resolve().parents[1] / ".local"))
    / "run"
    / "make-run"
)


@contextlib.contextmanager
def _own_runs():
    """While dag.test() runs: start each DAG run at the wall clock (dag.test() starts it at
    the logical date, and the UI then shows a run of "532d 5h") and record it as this
    process's, for `fail_orphaned_runs`."""
    import json

    import airflow.models.dagrun as dagrun_module
    from airflow._shared.timezones import timezone

    create = dagrun_module.get_or_create_dagrun
    owned = OWNED_RUNS_DIR / f"{os.getpid()}.json"
    owned.parent.mkdir(parents=True, exist_ok=True)
    runs: list[list[str]] = []

    def get_or_create_at_wall_clock(*args, **kwargs):
        kwargs["start_date"] = timezone.utcnow()
        dr = create(*args, **kwargs)
        # dag.test() reuses the run of an earlier test of the same logical date.
        dr.start_date, dr.end_date = kwargs["start_date"], None
        kwargs["session"].flush()
        runs.append([dr.dag_id, dr.run_id])
        owned.write_text(json.dumps(runs))
        return dr

    dagrun_module.get_or_create_dagrun = get_or_create_at_wall_clock
    try:
        yield
    finally:
        dagrun_module.get_or_create_dagrun = create
    # Only when every run came back: a stopped run leaves the file to its supervisor.
    owned.unlink(missing_ok=True)


def fail_orphaned_runs(only_pid: int | None = None) -> list[str]:
    """Mark failed the runs that a `make run` which is gone left queued or running (and
    their unfinished tasks), so `max_active_runs` never counts them against a later run.
    A run is orphaned when it was made by dag.test() and no live `make run` owns it.
    With `only_pid`, only that process's runs (the supervisor, after its child stopped)."""
    import json

    from airflow._shared.timezones import timezone
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType

    live: set[tuple[str, str]] = set()
    dead: set[tuple[str, str]] = set()
    files = []
    for path in OWNED_RUNS_DIR.glob("*.json") if OWNED_RUNS_DIR.exists() else []:
        pid = int(path.stem)
        try:
            owned = {tuple(r) for r in json.loads(path.read_text() or "[]")}
        except ValueError:
            owned = set()
        try:
            os.kill(pid, 0)
            alive = True
        except (ProcessLookupError, PermissionError):
            alive = False
        if alive and pid != only_pid:
            live |= owned
        else:
            dead |= owned
            files.append(path)
    failed = []
    now = timezone.utcnow()
    finished = [s.value for s in _finished_states()]
    with create_session() as session:
        query = session.query(DagRun).filter(
            DagRun.triggered_by == DagRunTriggeredByType.TEST,
            DagRun.state.in_([DagRunState.RUNNING, DagRunState.QUEUED]),
        )
        for dr in query:
            key = (dr.dag_id, dr.run_id)
            if key in live or (only_pid is not None and key not in dead):
                continue
            for ti in session.query(TaskInstance).filter(
                TaskInstance.dag_id == dr.dag_id,
                TaskInstance.run_id == dr.run_id,
                TaskInstance.state.is_(None) | TaskInstance.state.notin_(finished),
            ):
                ti.state = TaskInstanceState.FAILED
                ti.end_date = now
            dr.state = DagRunState.FAILED
            dr.end_date = now
            failed.append(f"{dr.dag_id} {dr.run_id}")
    for path in files:
        path.unlink(missing_ok=True)
    if failed:
        print(
            f"marked failed {len(failed)} DAG run(s) left running by a stopped make run: "
            + "; ".join(failed),
            file=sys.stderr,
        )
    return failed


def _finished_states():
    from airflow.utils.state import TaskInstanceState

    return {
        TaskInstanceState.SUCCESS,
        TaskInstanceState.FAILED,
        TaskInstanceState.SKIPPED,
        TaskInstanceState.UPSTREAM_FAILED,
        TaskInstanceState.REMOVED,
    }


def _fix_dag_test_deadlines() -> None:
    """Airflow 3.3.2's dag.test() crashes once a run of a DAG with a deadline succeeds
    (apache/airflow#73428): its in-memory scheduler DAG holds the encoded deadline alerts,
    not their ids, and DagRun.update_state looks each one up by id ("can't adapt type
    'dict'"). The scheduler holds ids and is unaffected. Until the fix (apache/airflow#73430)
    is released, an encoded alert is decoded in place, as that fix does. Every dag.test()
    here imports this module first (make run, the tests)."""
    from airflow.models.deadline_alert import DeadlineAlert

    if getattr(DeadlineAlert.get_by_id, "_elt_decodes_encoded", False):
        return
    by_id = DeadlineAlert.get_by_id

    class _Encoded:
        reference_class = DeadlineAlert.reference_class  # reads `self.reference`

        def __init__(self, encoded: dict):
            self.reference = encoded.get("__var", encoded)["reference"]

    def get_by_id(deadline_alert_id, *, session=None):
        if isinstance(deadline_alert_id, dict):
            return _Encoded(deadline_alert_id)
        return by_id(deadline_alert_id, **({} if session is None else {"session": session}))

    get_by_id._elt_decodes_encoded = True
    DeadlineAlert.get_by_id = staticmethod(get_by_id)


_fix_dag_test_deadlines()


def _asset_uris(condition) -> set[str]:
    if condition is None:
        return set()
    if hasattr(condition, "uri"):
        return {condition.uri}
    return set().union(*(_asset_uris(c) for c in getattr(condition, "objects", ())))


def dag_order(dags: dict) -> tuple[list[str], dict[str, set[str]]]:
    """Topological order: a DAG after every DAG whose task outlets feed its asset schedule
    or its tasks' inlets."""
    produces = {
        d: {a.uri for t in dag.tasks for a in (t.outlets or []) if hasattr(a, "uri")}
        for d, dag in dags.items()
    }
    # A DAG consumes the assets it is scheduled on and those its tasks declare as inlets
    # (read, not scheduled on: Yelp reads the counties the Census DAG writes).
    consumes = {
        d: _asset_uris(getattr(dag.timetable, "asset_condition", None))
        | {a.uri for t in dag.tasks for a in (t.inlets or []) if hasattr(a, "uri")}
        for d, dag in dags.items()
    }
    upstream = {d: {p for p in dags if p != d and produces[p] & consumes[d]} for d in dags}
    order, placed = [], set()
    while len(order) < len(dags):
        ready = sorted(d for d in dags if d not in placed and upstream[d] <= placed)
        if not ready:
            raise ValueError(f"asset cycle between DAGs: {sorted(set(dags) - placed)}")
        order += ready
        placed.update(ready)
    return order, upstream


def condition_met(condition, updated: set[str]) -> bool:
    """Whether an asset condition (Asset, AssetAll `&`, AssetAny `|`) holds when the assets
    with URIs `updated` have new events."""
    if hasattr(condition, "uri"):
        return condition.uri in updated
    parts = [condition_met(c, updated) for c in getattr(condition, "objects", ())]
    return all(parts) if type(condition).__name__ == "AssetAll" else any(parts)


def _outlets(dag) -> set[str]:
    return {a.uri for t in dag.tasks for a in (t.outlets or []) if hasattr(a, "uri")}


def _why_not_run(dag, upstream: set[str], outcome: dict, updated: set[str]) -> str | None:
    """The reason `dag` must not run after the DAGs in `outcome`, or None."""
    condition = getattr(dag.timetable, "asset_condition", None)
    if not _asset_uris(condition):  # cron timetables carry an empty condition
        condition = None
    if condition is not None and not condition_met(condition, updated):
        return f"its asset schedule is not met: upstream {', '.join(sorted(upstream))}"
    inlets = {a.uri for t in dag.tasks for a in (t.inlets or []) if hasattr(a, "uri")}
    missing = inlets - updated - (_asset_uris(condition) if condition is not None else set())
    failed = sorted(u for u in upstream if outcome[u]["state"] != "success")
    if missing and failed:
        return f"an asset it reads was not updated: upstream DAG failed: {', '.join(failed)}"
    return None


def run_dags(day: date) -> dict[str, dict]:
    """dag.test() of every DAG for logical date D, in asset order. Returns per DAG its run
    id, state and failed tasks; a DAG whose assets were not updated is 'skipped'."""
    from datetime import datetime

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    order, upstream = dag_order(bag.dags)
    logical = datetime(day.year, day.month, day.day, tzinfo=UTC)
    outcome: dict[str, dict] = {}
    updated: set[str] = set()  # the assets of the DAG runs that succeeded
    for dag_id in order:
        reason = _why_not_run(bag.get_dag(dag_id), upstream[dag_id], outcome, updated)
        if reason:
            outcome[dag_id] = {"state": "skipped", "run_id": None, "failed": [reason]}
            continue
        dr = bag.get_dag(dag_id).test(logical_date=logical)
        outcome[dag_id] = {
            "state": str(dr.state),
            "run_id": dr.run_id,
            "failed": sorted(
                ti.task_id
                for ti in dr.get_task_instances()
                if ti.state not in ("success", "skipped")
            ),
        }
        if outcome[dag_id]["state"] == "success":
            updated |= _outlets(bag.get_dag(dag_id))
    return outcome


def _print_outcome(day: date, outcome: dict, log: Path | None) -> None:
    print(f"DAG runs for logical date {day.isoformat()}" + (f" (task logs: {log})" if log else ""))
    for dag_id, o in outcome.items():
        print(
            f"  {dag_id:<18} {o['state']:<8} {o['run_id'] or ''}"
            + (f"  failed: {', '.join(o['failed'])}" if o["failed"] else "")
        )


@contextlib.contextmanager
def _logs_to(path: Path | None):
    """Point this process's stdout/stderr (file descriptors, so every logger follows) at
    `path` for the duration; restore them afterwards."""
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
    from include.lake import TABLES

    with pg_connect("source_db") as conn:
        print("\nsource_db tables exported to the lake:")
        quarantines = [
            f"raw.{r[0]}"
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'raw' "
                "and table_name like '%%quarantine' order by 1"
            )
        ]
        for table in [f"{t.schema}.{t.name}" for t in TABLES] + quarantines:
            rows = conn.execute(f"select count(*) from {table}").fetchone()[0]
            print(f"  {table:<30} {rows:>8} rows")
        print("\nquality.check_results for this run:")
        for dag_id, status, n in conn.execute(
            "select dag_id, status, count(*) from quality.check_results where run_id = "
            "any(%s) group by 1, 2 order by 1, 2",
            (run_ids,),
        ):
            print(f"  {dag_id:<18} {status:<5} {n:>4} checks")
        for row in conn.execute(
            "select dag_id, check_name, observed, expected from quality.check_results "
            "where run_id = any(%s) and status <> 'pass' order by id",
            (run_ids,),
        ):
            print(f"  NOT PASSED: {row[0]} {row[1]} observed={row[2]} expected={row[3]}")
    with pg_connect("warehouse_db") as conn:
        print("\nWarehouse marts (warehouse_db, schema marts):")
        marts = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "order by 1"
            )
        ]
        for table in marts:
            print(
                f"  marts.{table:<34} "
                f"{conn.execute(f'select count(*) from marts.{table}').fetchone()[0]:>8} rows"
            )
    print(
        "\nLook around:"
        '\n  eval "$(make -s env)"'
        "\n  psql postgresql://elt:elt-local@127.0.0.1:54329/warehouse -c 'table marts.dim_state'"
        "\n  psql postgresql://elt:elt-local@127.0.0.1:54329/source \\"
        "\n    -c 'table quality.check_results'"
        "\n  Slack sink messages: .local/slack_messages.jsonl"
        "\n  make up    # Airflow UI on http://127.0.0.1:8080 (login printed)"
    )


STOP_GRACE_SECONDS = 20


def _supervise(argv: list[str]) -> int:
    """Run the DAGs in a child process of their own session and stop that session on
    SIGTERM or SIGINT: dag.test() installs its own signal handling and keeps running, so
    the supervisor forwards the signal to the whole session, waits STOP_GRACE_SECONDS, then
    kills what is left. Returns the child's status, or 128 + the signal's number."""
    import signal
    import subprocess
    import time

    child = subprocess.Popen(
        [sys.executable, "-m", "local.run", "--in-child", *argv], start_new_session=True
    )
    received: list[int] = []
    status = None

    def forward(signum, _frame):
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    while True:
        try:
            status = child.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if received:
                deadline = time.monotonic() + STOP_GRACE_SECONDS
                while child.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                break
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)  # whatever the session still holds
    child.wait()
    if status != 0 or received:
        # A stopped child leaves its runs running: fail them now, not at the next start.
        fail_orphaned_runs(only_pid=child.pid)
    if received:
        print(f"stopped by {signal.Signals(received[0]).name}", file=sys.stderr)
        return 128 + received[0]
    return status


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--in-child" not in argv:
        return _supervise(argv)
    argv.remove("--in-child")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, type=date.fromisoformat)
    parser.add_argument("--summary", action="store_true")
    parser.add_argument(
        "--log", type=Path, help="send the task logs to this file; print only the outcome"
    )
    args = parser.parse_args(argv)
    fail_orphaned_runs()
    with _logs_to(args.log), _own_runs():
        outcome = run_dags(args.date)
    _print_outcome(args.date, outcome, args.log)
    failed = any(o["state"] != "success" for o in outcome.values())
    run_ids = [o["run_id"] for o in outcome.values()]
    if args.summary:
        summary(run_ids)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
