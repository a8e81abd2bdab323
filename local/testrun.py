"""`make test`: the whole suite in two lanes at once.

    python -m local.testrun [pytest args]

tests/deployment runs the production topology on a stack of its own (own PostgreSQL
cluster, Redis, S3, ports and state directory: tests/deployment/conftest.py), so it can run
beside the rest of the suite, which uses the local stack. Beside is faster on two cores:
the rest is mostly one Python process at a time (measured: one core busy), the deployment
mostly waits on the scheduler. The deployment lane's output goes to
.local/logs/test-deployment.log and is printed when it ends; the other lane prints as it
goes. The exit status is the first failing lane's (pytest's 5, no test collected, fails).

Arguments that pick tests (a path, a node id, `-k` or `-m`) run one pytest with them, as
before: a lane that picked nothing would exit 5 and fail the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = "tests/deployment"
# Both lanes are bounded by pytest-timeout per test; this bounds the wait for the lane as
# a whole (the CI limit is 90 minutes).
LANE_TIMEOUT_S = float(os.environ.get("ELT_TEST_LANE_TIMEOUT_S", str(60 * 60)))


def picks_tests(args: list[str]) -> bool:
    """Whether pytest arguments choose the tests (then one pytest runs them)."""
    return any(a.startswith(("tests", "-k", "-m")) or "::" in a or a.endswith(".py") for a in args)


def lanes_status(rest_rc: int, deployment_rc: int) -> int:
    """The run's exit status: the first failing lane's (pytest's 5, no test, fails)."""
    return rest_rc or deployment_rc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def main(args: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest"]
    if picks_tests(args):
        return subprocess.call([*pytest, *args], cwd=ROOT)
    log_path = ROOT / ".local" / "logs" / "test-deployment.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_path, "wb") as log:
        deployment = subprocess.Popen(
            [*pytest, DEPLOYMENT, *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    print(f"{DEPLOYMENT} runs beside the rest of the suite (pid {deployment.pid}): {log_path}")
    sys.stdout.flush()
    rest = subprocess.Popen(
        [*pytest, f"--ignore={DEPLOYMENT}", *args], cwd=ROOT, start_new_session=True
    )

    def _interrupted(signum, _frame):
        for proc in (rest, deployment):
            _stop(proc)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    try:
        rest_rc = rest.wait(timeout=LANE_TIMEOUT_S)
        remaining = max(60.0, LANE_TIMEOUT_S - (time.monotonic() - started))
        deployment_rc = deployment.wait(timeout=remaining)
    except subprocess.TimeoutExpired:
        print(f"a test lane was still running after {LANE_TIMEOUT_S:.0f} s: stopped")
        for proc in (rest, deployment):
            _stop(proc)
        print(log_path.read_text(errors="replace")[-20000:])
        return 1
    print(f"\n===== {DEPLOYMENT} (ran beside the rest; {log_path}) =====")
    print(log_path.read_text(errors="replace"))
    elapsed = time.monotonic() - started
    print(f"lanes: rest exit {rest_rc}, {DEPLOYMENT} exit {deployment_rc}; {elapsed:.0f} s wall")
    return lanes_status(rest_rc, deployment_rc)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
