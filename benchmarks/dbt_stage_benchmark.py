"""The warehouse DAG's dbt stage (the cosmos task group: `dbt.start`, the producer's one
`dbt build`, every node task) against one plain `dbt build` of the same project and data,
under `dag.test()` (what `make run` runs), interleaved rounds in fresh processes.

    eval "$(make -s env)"; .venv/bin/python benchmarks/dbt_stage_benchmark.py \
        [--repeat 3] [--date 2024-01-15]

Needs staged data: it runs `make run`'s warehouse day first if staging is empty
(`python -m local.run --date D`). Then each round runs, in an order that alternates:
- stage: the `dbt.*` tasks of the warehouse DAG (`partial_subset`) through `dag.test()`
  for day D, in a child process; timed from the first dbt task's start to the last one's
  end, as Airflow recorded them (the process start and DAG parse are not the stage's);
- plain: `python -m include.dbt.runner build` in a child process, timed around the dbt
  invocation itself (dbt's own startup included, as the producer pays it too).
Target (issue "Speed to the limit", item 5): stage <= 1.3x plain. Prints every run, best
against best and the range of paired rounds, with PASS/MISS. WAREHOUSE picks the target
(`WAREHOUSE=bigquery` with `make emulators` for the emulator).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.3

STAGE = """
import json, sys, warnings
from datetime import UTC, datetime
import local.run  # noqa: F401 - its dag.test() fix (apache/airflow#73428)
from airflow.dag_processing.dagbag import DagBag
day = datetime.fromisoformat(sys.argv[1]).replace(tzinfo=UTC)
warehouse = DagBag(dag_folder="dags/warehouse.py").get_dag("warehouse")
dbt = warehouse.partial_subset(
    task_ids=[t for t in warehouse.task_ids if t.startswith("dbt.")],
    include_upstream=False, include_downstream=False,
)
dr = dbt.test(logical_date=day)
tis = [t for t in dr.get_task_instances() if t.start_date and t.end_date]
secs = (max(t.end_date for t in tis) - min(t.start_date for t in tis)).total_seconds()
states = sorted({t.state for t in dr.get_task_instances()})
print(json.dumps({"secs": secs, "state": dr.state, "tasks": len(tis), "states": states}))
"""

PLAIN = """
import json, time
from include.dbt.runner import run_dbt
t = time.perf_counter()
run_dbt(["build"])  # raises when the build fails
print(json.dumps({"secs": time.perf_counter() - t, "success": True}))
"""


def child(code: str, *argv: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def staged_rows() -> int:
    from include.warehouse import get_warehouse

    return get_warehouse().staging_current_count("county")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--date", default="2024-01-15")
    args = ap.parse_args()
    day = date.fromisoformat(args.date)
    sys.path.insert(0, str(ROOT))
    if not staged_rows():
        subprocess.run([sys.executable, "-m", "local.run", "--date", day.isoformat()], check=True)
    target = os.environ.get("WAREHOUSE", "postgres")
    stage, plain = [], []
    for r in range(args.repeat):
        for kind in ("stage", "plain") if r % 2 == 0 else ("plain", "stage"):
            if kind == "stage":
                res = child(STAGE, day.isoformat())
                if res["state"] != "success":
                    raise SystemExit(f"the dbt stage did not succeed: {res}")
                stage.append(res["secs"])
            else:
                res = child(PLAIN)
                if not res["success"]:
                    raise SystemExit("plain dbt build failed")
                plain.append(res["secs"])
            print(f"round {r + 1} {kind:<5} {res['secs']:7.1f} s  {res}")
    best = min(stage) / min(plain)
    pairs = [s / p for s, p in zip(stage, plain)]
    verdict = "PASS" if best <= TARGET else "MISS"
    print(
        f"dbt stage ({target}, dag.test): best {min(stage):.1f} s vs plain dbt build best "
        f"{min(plain):.1f} s = {best:.2f}x (rounds {min(pairs):.2f}-{max(pairs):.2f}x); "
        f"target <= {TARGET}x: {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
