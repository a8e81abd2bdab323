"""The DAGs as the CeleryExecutor runs them, on workers that share nothing but PostgreSQL and
the lake: one task per stage (a retry redoes one stage, never the API call before it), the
API tasks in their pools, every task and run bounded, a deadline per DAG, a validated `day`.
"""

from datetime import date, timedelta
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"

# Task ids in run order; the last one carries the DAG's asset.
STAGES = {
    "states_page": ["extract", "land", "check", "normalize"],
    "census_population": ["extract", "land", "check", "normalize"],
    # Yelp pages land as they are fetched, in the transaction that advances yelp.progress.
    "yelp_businesses": ["extract_land", "check", "normalize"],
    "amplitude_events": ["export", "load", "check", "publish"],
}
# The tasks that call an external API, and the pool each one takes a slot of.
API_POOLS = {
    ("census_population", "extract"): "census_api",
    ("yelp_businesses", "extract_land"): "yelp_api",
    ("amplitude_events", "export"): "amplitude_api",
}
DAY_PARAM_DAGS = set(STAGES) | {"warehouse"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    return bag


def _run_order(dag) -> list[str]:
    """The DAG's task ids in dependency order (a chain: each task has one place)."""
    order, done = [], set()
    while len(order) < len(dag.task_ids):
        ready = sorted(
            t.task_id for t in dag.tasks if t.task_id not in done and t.upstream_task_ids <= done
        )
        assert len(ready) == 1, (dag.dag_id, ready)  # a chain, not parallel branches
        order += ready
        done.update(ready)
    return order


@pytest.mark.parametrize("dag_id", sorted(STAGES))
def test_a_source_dag_is_one_task_per_stage_in_order(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert _run_order(dag) == STAGES[dag_id]
    *stages, last = STAGES[dag_id]
    # Only the last task marks the asset: the warehouse never sees an unchecked day.
    assert dag.get_task(last).outlets, dag_id
    for task_id in stages:
        assert not dag.get_task(task_id).outlets, (dag_id, task_id)


def test_the_api_tasks_take_a_slot_of_their_pool(dagbag):
    from include.runs.pools import POOLS

    assert set(POOLS) == {"yelp_api", "amplitude_api", "census_api"}
    for (dag_id, task_id), pool in API_POOLS.items():
        assert dagbag.get_dag(dag_id).get_task(task_id).pool == pool, (dag_id, task_id)
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            if (dag.dag_id, t.task_id) not in API_POOLS:
                # Nothing else holds an API's slot (a retry of `normalize` calls no API).
                assert t.pool not in POOLS, (dag.dag_id, t.task_id, t.pool)
    for name, (slots, description) in POOLS.items():
        assert isinstance(slots, int) and slots >= 1 and description, name


def test_every_dag_has_a_run_timeout_and_every_task_fits_in_it(dagbag):
    for dag in dagbag.dags.values():
        assert dag.dagrun_timeout is not None, dag.dag_id
        assert timedelta(0) < dag.dagrun_timeout <= timedelta(hours=12), dag.dag_id
        for t in dag.tasks:
            assert t.execution_timeout is not None, (dag.dag_id, t.task_id)
            assert t.execution_timeout <= dag.dagrun_timeout, (dag.dag_id, t.task_id)


def test_every_dag_has_a_deadline_whose_callback_alerts_through_the_outbox(dagbag):
    from airflow.sdk.definitions.callback import SyncCallback
    from airflow.sdk.definitions.deadline import (
        DagRunLogicalDateDeadline,
        DagRunQueuedAtDeadline,
        DeadlineAlert,
    )

    from include.quality.alerts import on_deadline_missed

    for dag in dagbag.dags.values():
        alerts = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
        assert len(alerts) == 1 and isinstance(alerts[0], DeadlineAlert), dag.dag_id
        alert = alerts[0]
        # A Celery worker runs it (SyncCallback): it writes to PostgreSQL and posts to Slack.
        assert isinstance(alert.callback, SyncCallback), dag.dag_id
        assert alert.callback.path == "include.quality.alerts.on_deadline_missed"
        assert callable(on_deadline_missed)
        # The message names the deadline's rule: its reference and interval.
        assert alert.callback.kwargs["interval"] == str(alert.interval), dag.dag_id
        if dag.dag_id in STAGES:
            # A day's run is due at the end of its data interval (a day after its logical
            # date); its deadline comes after the run could have timed out.
            assert isinstance(alert.reference, DagRunLogicalDateDeadline), dag.dag_id
            assert alert.interval >= timedelta(days=1) + dag.dagrun_timeout, dag.dag_id
        else:
            # Asset-triggered (no logical date) or every few minutes: from when it queued.
            assert isinstance(alert.reference, DagRunQueuedAtDeadline), dag.dag_id
            assert alert.interval >= dag.dagrun_timeout, dag.dag_id


def test_every_day_dag_has_a_validated_day_param(dagbag):
    """Airflow validates a run's params when the run is created (the trigger form, the
    API, dag.test): a malformed day never starts a run."""
    import copy

    from airflow.sdk.exceptions import ParamValidationError

    for dag_id in sorted(DAY_PARAM_DAGS):
        params = dagbag.get_dag(dag_id).params
        assert "day" in params, dag_id
        assert params["day"] is None, dag_id  # default: the data interval's day
        for good in ("2024-01-15", None):
            given = copy.deepcopy(params)
            given["day"] = good
            assert given.validate()["day"] == good
        for bad in ("2024-13-01", "15/01/2024", "20240115", "2024-01-15T00:00", 20240115):
            given = copy.deepcopy(params)
            with pytest.raises(ParamValidationError, match="day"):
                given["day"] = bad


def _context(logical, params):
    from datetime import UTC, datetime

    return {
        "logical_date": datetime(*logical, tzinfo=UTC) if logical else None,
        "params": params,
    }


def test_day_is_the_param_else_the_logical_date_and_a_bad_one_fails_clearly():
    from include.runs import logical_day, logical_days

    assert logical_day(_context((2024, 1, 15), {"day": None})) == date(2024, 1, 15)
    assert logical_day(_context((2024, 1, 15), {})) == date(2024, 1, 15)
    assert logical_days(_context((2024, 1, 15), {"day": "2023-12-31"})) == [date(2023, 12, 31)]
    assert logical_days(_context(None, {"day": "2023-12-31"})) == [date(2023, 12, 31)]
    with pytest.raises(ValueError, match=r"param day '2024-13-01'.*YYYY-MM-DD"):
        logical_day(_context((2024, 1, 15), {"day": "2024-13-01"}))
    with pytest.raises(ValueError, match=r"param day '2999-01-01' is in the future"):
        logical_day(_context((2024, 1, 15), {"day": "2999-01-01"}))


def test_amplitude_params_reach_the_stages_that_use_them(dagbag, monkeypatch):
    """`from_archive` decides what `export` does (archived keys, no Amplitude call);
    `accept_smaller_day` goes to `load`, where the shrink guard refuses a smaller day."""
    import include.runs
    import include.sources.amplitude as amplitude

    dag = dagbag.get_dag("amplitude_events")
    assert dag.params["accept_smaller_day"] is False
    assert dag.params["from_archive"] is False
    calls = []
    monkeypatch.setattr(
        amplitude, "run_export", lambda day, **kw: calls.append(("export", kw)) or ["k"]
    )
    monkeypatch.setattr(
        amplitude, "run_load", lambda day, ctx, keys, **kw: calls.append(("load", keys, kw)) or {}
    )
    monkeypatch.setattr(include.runs, "logical_day", lambda context: date(2024, 1, 1))
    monkeypatch.setattr(include.runs, "run_context", lambda context: None)
    monkeypatch.setattr(include.runs, "xcom_value", lambda result: result)
    for from_archive, smaller in ((False, False), (True, True)):
        params = {"from_archive": from_archive, "accept_smaller_day": smaller}
        keys = dag.get_task("export").python_callable(params=params)
        dag.get_task("load").python_callable(keys, params=params)
    assert calls == [
        ("export", {"from_archive": False}),
        ("load", ["k"], {"accept_smaller_day": False}),
        ("export", {"from_archive": True}),
        ("load", ["k"], {"accept_smaller_day": True}),
    ]
