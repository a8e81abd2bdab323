"""DAG parse time: every file of dags/ against a trivial DAG with a cron schedule and one
Asset outlet, each parsed in a fresh process, median of --repeat interleaved rounds.

    eval "$(make -s env)"; .venv/bin/python benchmarks/dag_parse_benchmark.py [--repeat 3]

What is timed is the dag-processor's unit of work: `DagBag` over the one file (import of
the file, the DAG objects built, their checks), in a child process that has already
imported `airflow.sdk` and `DagBag` (the processor has them when it forks to parse a
file). The first `Asset()` of a process makes Airflow import every provider's asset-URI
handler: the trivial DAG pays it too, so it is Airflow's cost, in both sides of the ratio.
Each round parses every file once, in an order that rotates from round to round. Target:
each file <= 2x the trivial DAG (median against median). Prints PASS/MISS per file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 2.0

TRIVIAL = """
import pendulum
from airflow.sdk import DAG, Asset, task

with DAG(
    dag_id="trivial",
    schedule="0 5 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
):

    @task(outlets=[Asset(name="trivial", uri="elt://trivial/out")])
    def one():
        return 1

    one()
"""

CHILD = """
import json, sys, time
import airflow.sdk
from airflow.dag_processing.dagbag import DagBag
path = sys.argv[1]
t = time.perf_counter()
bag = DagBag(dag_folder=path)
secs = time.perf_counter() - t
print(json.dumps({"secs": secs, "dags": sorted(bag.dag_ids), "errors": len(bag.import_errors)}))
"""


def parse_once(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    if out.returncode != 0:
        raise SystemExit(f"parsing {path} failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["errors"] or not result["dags"]:
        raise SystemExit(f"{path}: import errors or no DAG: {result}")
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial_dag.py"
        trivial.write_text(TRIVIAL)
        files = [trivial, *sorted((ROOT / "dags").glob("*.py"))]
        times: dict[Path, list[float]] = {f: [] for f in files}
        for r in range(args.repeat):
            order = files[r % len(files) :] + files[: r % len(files)]
            for f in order:
                times[f].append(parse_once(f)["secs"])
        base = statistics.median(times[trivial])
        print(f"DAG parse, fresh process per parse, median of {args.repeat} rounds")
        head = f"{'file':<24} {'median s':>9} {'range s':>15} {'x trivial':>10}"
        print(f"{head}  target <= {TARGET}x")
        worst = 0.0
        for f in files:
            med = statistics.median(times[f])
            ratio = med / base
            name = "trivial (cron + Asset)" if f == trivial else f.name
            verdict = "" if f == trivial else ("PASS" if ratio <= TARGET else "MISS")
            if f != trivial:
                worst = max(worst, ratio)
            span = f"{min(times[f]):.3f}-{max(times[f]):.3f}"
            print(f"{name:<24} {med:>9.3f} {span:>15} {ratio:>9.2f}x  {verdict}")
        print(f"worst file: {worst:.2f}x the trivial DAG: {'PASS' if worst <= TARGET else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
