"""The source DAGs stage by stage, through dag.test() on the real local services: a retry of
the last stage redoes only that stage (the source is not called again, what the earlier
stages persisted is read back from PostgreSQL and the lake); a day not done by its deadline
reaches Slack through the alert outbox; the pools exist for the scheduler."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from include.connections import pg_connect
from tests.helpers import control, request_counts, slack_control, slack_reset, slack_texts

pytestmark = pytest.mark.integration
DAGS_DIR = Path(__file__).resolve().parents[3] / "dags"
LOGICAL = datetime(2024, 4, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def retrying_bag():
    """The DAGs parsed with one fast retry per task (default_args read the environment at
    parse time)."""
    import local.run  # noqa: F401 - its dag.test() fix for DAGs with a deadline

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ELT_TASK_RETRIES", "1")
        mp.setenv("ELT_RETRY_DELAY_SECONDS", "1")
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(DAGS_DIR))
        assert bag.import_errors == {}
        yield bag


def _geography_landed() -> bool:
    with pg_connect("source_db") as conn:
        return conn.execute("select count(*) from oltp.county").fetchone()[0] > 0


@pytest.mark.parametrize(
    "dag_id,source,last",
    [
        ("states_page", "states", "normalize"),
        ("census_population", "census", "normalize"),
        ("yelp_businesses", "yelp", "normalize"),
        ("amplitude_events", "amplitude", "publish"),
    ],
)
def test_a_retry_of_the_last_stage_calls_the_source_zero_times(
    retrying_bag, reset_faults, monkeypatch, dag_id, source, last
):
    """The last stage fails once after it did its work (a worker lost mid-commit, say) and
    is retried by Airflow: the retry reads the landed, checked day back and finishes it,
    with no call to the source; the run succeeds with the same day as one clean run."""
    import include.landing

    if dag_id == "yelp_businesses":
        if not _geography_landed():  # Yelp searches the OLTP counties
            assert retrying_bag.get_dag("census_population").test(logical_date=LOGICAL).state
        with pg_connect("source_db", autocommit=True) as conn:
            # The day's queue from the start, so this run really calls Yelp first.
            conn.execute("delete from yelp.progress where logical_date = %s", (LOGICAL.date(),))
    control({})  # request counts from zero
    real = include.landing.record_landed_day
    at_failure: list[dict] = []

    def fail_once(conn, name, day):  # the last call of every source's last stage
        if not at_failure:
            at_failure.append(request_counts())
            raise RuntimeError("injected: the worker went away before the day was marked")
        return real(conn, name, day)

    monkeypatch.setattr(include.landing, "record_landed_day", fail_once)
    dr = retrying_bag.get_dag(dag_id).test(logical_date=LOGICAL)
    tries = {ti.task_id: (ti.try_number, ti.state) for ti in dr.get_task_instances()}
    assert at_failure, "the injected failure never ran"
    assert at_failure[0].get(source, 0) > 0, at_failure  # the extract called the source
    # The retry (and whatever ran after the failure) made no call at all.
    assert request_counts() == at_failure[0], (request_counts(), at_failure[0], tries)
    assert dr.state == "success", tries
    assert tries[last] == (2, "success"), tries
    assert {t: n for t, (n, _) in tries.items() if t != last} == dict.fromkeys(
        set(tries) - {last}, 1
    ), tries
    with pg_connect("source_db") as conn:
        landed = conn.execute(
            "select count(*) from raw.landed_days where day = %s and source = %s",
            (LOGICAL.date(), {"states": "states_page"}.get(source, source)),
        ).fetchone()[0]
    assert landed == 1


def test_a_day_not_done_by_its_deadline_reaches_slack_through_the_outbox(monkeypatch):
    """A states_page run whose first stage fails leaves its day undone; when the scheduler
    finds the deadline Airflow computed for the run missed (Deadline.handle_miss), the
    executor runs the DAG's SyncCallback (execute_callback, what a Celery worker runs): it
    writes a `deadline_missed` alert to quality.alert_outbox naming the DAG, the day and the
    deadline, and the drain delivers it to Slack (here after an outage of the sink)."""
    import structlog
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.deadline import Deadline
    from airflow.sdk.execution_time.callback_supervisor import execute_callback
    from airflow.utils.session import create_session
    from sqlalchemy import select

    import include.sources.states_page as states_page
    import local.run  # noqa: F401 - its dag.test() fix for DAGs with a deadline
    from include.quality.alerts import drain

    monkeypatch.setenv("ELT_TASK_RETRIES", "0")
    dag = DagBag(dag_folder=str(DAGS_DIR)).get_dag("states_page")

    def unreachable(day):
        raise ConnectionError("injected: the states page did not answer")

    monkeypatch.setattr(states_page, "run_extract", unreachable)
    # A day whose deadline is still ahead when its run is queued: a scheduled run's case.
    logical = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    day = logical.date()
    dr = dag.test(logical_date=logical)
    assert dr.state == "failed"
    try:
        with create_session() as session:
            (deadline,) = session.scalars(
                select(Deadline).where(Deadline.dagrun_id == dr.id)
            ).all()  # a failed run keeps its deadline (a successful one prunes it)
            assert deadline.deadline_time == logical + dag.deadline[0].interval
            deadline.handle_miss(session=session)
            session.flush()
            data = dict(deadline.callback.data)
        slack_reset()
        slack_control("503", times=100)  # Slack is down when the deadline passes
        ok, error = execute_callback(
            data["path"],
            data["kwargs"],
            DAGS_DIR / "states_page.py",
            DAGS_DIR,
            structlog.get_logger(),
        )
        assert ok, error
        with pg_connect("source_db") as conn:
            (status, text) = conn.execute(
                "select status, payload->>'text' from quality.alert_outbox where kind = "
                "'deadline_missed' and run_id = %s",
                (dr.run_id,),
            ).fetchone()
        assert status == "pending" and slack_texts() == []
        slack_control("ok")
        with pg_connect("source_db", autocommit=True) as conn:  # its backoff is over
            conn.execute(
                "update quality.alert_outbox set next_attempt_at = now() "
                "where status = 'pending' and run_id = %s",
                (dr.run_id,),
            )
        assert drain().sent >= 1  # the alerts_drain DAG's pass
        (message,) = [t for t in slack_texts() if "deadline" in t]
        assert message == text
        assert "states_page" in message and day.isoformat() in message
        assert deadline.deadline_time.strftime("%Y-%m-%d %H:%M") in message
        assert dr.run_id in message
    finally:
        slack_control("ok")
        with create_session() as session:  # no deadline of this test is left for a scheduler
            session.execute(Deadline.__table__.delete().where(Deadline.dagrun_id == dr.id))


def test_a_rerun_queued_after_its_deadline_does_not_page():
    """A manual run or backfill of a day whose deadline had passed before it was queued is
    late on purpose: the callback logs it and writes no alert. A scheduled run does."""
    from include.quality.alerts import on_deadline_missed

    def context(run_type, run_id):
        return {
            "dag_run": {
                "dag_id": "census_population",
                "dag_run_id": run_id,
                "run_type": run_type,
                "state": "running",
                "logical_date": "2024-01-15T06:00:00Z",
                "queued_at": "2024-03-01T10:00:00Z",
                "run_after": "2024-03-01T10:00:00Z",
                "conf": {},
            },
            "deadline": {"id": "x", "deadline_time": "2024-01-16T08:00:00+00:00"},
        }

    kinds = {}
    for run_type in ("manual", "backfill", "scheduled"):
        run_id = f"test-deadline-{run_type}-{datetime.now(UTC).timestamp()}"
        on_deadline_missed(context(run_type, run_id), reference="logical date", interval="1 day")
        with pg_connect("source_db") as conn:
            kinds[run_type] = conn.execute(
                "select count(*) from quality.alert_outbox where run_id = %s", (run_id,)
            ).fetchone()[0]
    assert kinds == {"manual": 0, "backfill": 0, "scheduled": 1}


def test_the_pools_command_creates_and_updates_the_pools():
    import subprocess
    import sys

    from airflow.models.pool import Pool

    from include.runs.pools import POOLS

    cmd = [sys.executable, "-m", "include.runs.pools"]
    root = DAGS_DIR.parent
    subprocess.run(cmd, check=True, cwd=root, capture_output=True, timeout=120)
    Pool.create_or_update_pool("yelp_api", 7, "changed by hand", include_deferred=False)
    out = subprocess.run(cmd, check=True, cwd=root, capture_output=True, text=True, timeout=120)
    for name, (slots, description) in POOLS.items():
        pool = Pool.get_pool(name)
        assert (pool.slots, pool.description) == (slots, description), name
        assert name in out.stdout


def test_normalize_refuses_a_batch_landed_after_its_check(reset_faults):
    """`land` cleared and rerun alone lands a new, unchecked batch: `normalize` is handed
    the batch `check` passed, and refuses it now that it is gone, instead of normalizing
    what nobody checked. The rerun of the whole day then goes through."""
    import uuid

    from include.landing import BatchReplaced
    from include.quality import RunContext
    from include.sources import states_page

    day = LOGICAL.date()
    ctx = RunContext(f"test-{uuid.uuid4()}", "states_page", "check", day)
    key = states_page.run_extract(day)
    checked = states_page.run_check(day, ctx, states_page.run_land(day, key).batch_id)
    states_page.run_land(day, key)
    with pytest.raises(BatchReplaced, match="rerun the DAG for the day"):
        states_page.run_normalize(day, checked["batch_id"])
    assert states_page.ingest_day(day, ctx).raw_rows > 50
