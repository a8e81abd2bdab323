"""The data-quality report's views (include/migrations/V015__quality_report_views.sql) over
quality.check_results rows this test inserts, with the expected numbers written by hand."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from include.connections import pg_connect

pytestmark = pytest.mark.integration
DAY1, DAY2 = date(2041, 3, 1), date(2041, 3, 2)
DIMENSIONS = {"accuracy", "completeness", "consistency", "validity", "uniqueness", "timeliness"}


@pytest.fixture
def dag_id():
    """A DAG id no other test writes; its rows are removed afterwards."""
    dag = f"report_test_{uuid.uuid4().hex[:8]}"
    t0 = datetime(2041, 3, 3, tzinfo=UTC)
    rows = [
        # run, day, check, dimension, status, observed, expected, minutes after t0
        ("r1", DAY1, "c1", "completeness", "pass", "10", "10", 0),
        ("r1", DAY1, "c2", "validity", "fail", "3", "0", 0),
        ("r1", DAY1, "c3", "uniqueness", "warn", "1", "0", 0),
        # A later run of day 1 answers c2 again: its answer replaces the first run's.
        ("r2", DAY1, "c2", "validity", "pass", "0", "0", 5),
        ("r3", DAY2, "c1", "completeness", "pass", "11", "11", 10),
        ("r3", DAY2, "c2", "validity", "fail", "5", "0", 10),
        ("r3", DAY2, "c3", "uniqueness", "error", None, None, 10),
    ]
    with pg_connect("source_db", autocommit=True) as conn:
        for run, day, check, dim, status, observed, expected, minutes in rows:
            conn.execute(
                "insert into quality.check_results (run_id, dag_id, task_id, logical_date, "
                "check_name, dimension, target, status, observed, expected, created_at) "
                "values (%s, %s, 'check', %s, %s, %s, 'raw.t', %s, %s, %s, %s)",
                (
                    run,
                    dag,
                    day,
                    check,
                    dim,
                    status,
                    observed,
                    expected,
                    t0 + timedelta(minutes=minutes),
                ),
            )
    yield dag
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute("delete from quality.check_results where dag_id = %s", (dag,))


def _rows(sql: str, dag: str) -> list[tuple]:
    with pg_connect("source_db") as conn:
        return conn.execute(sql, (dag,)).fetchall()


def test_dimension_daily_shares_every_dimension_and_a_rerun_replaces(dag_id):
    got = {
        (day, dim): (checks, passed, failed, share)
        for day, dim, checks, passed, failed, share in _rows(
            "select day, dimension, checks, passed, failed, pass_share "
            "from quality.report_dimension_daily where source = %s",
            dag_id,
        )
    }
    assert {dim for _, dim in got} == DIMENSIONS
    assert len(got) == 12  # six dimensions x two days, checked or not
    assert got[(DAY1, "completeness")] == (1, 1, 0, Decimal("1.0000"))
    assert got[(DAY1, "validity")] == (1, 1, 0, Decimal("1.0000"))  # r2's pass won
    assert got[(DAY1, "uniqueness")] == (1, 1, 0, Decimal("1.0000"))  # a warn passes
    assert got[(DAY2, "validity")] == (1, 0, 1, Decimal("0.0000"))
    assert got[(DAY2, "uniqueness")] == (1, 0, 1, Decimal("0.0000"))  # an error fails
    assert got[(DAY2, "accuracy")] == (0, 0, 0, None)


def test_current_failures_and_last_good_day(dag_id):
    failures = _rows(
        "select check_name, status, observed, expected, day, last_pass_day, failing_since "
        "from quality.report_current_failures where source = %s order by check_name",
        dag_id,
    )
    assert failures == [
        ("c2", "fail", "5", "0", DAY2, DAY1, DAY2),
        ("c3", "error", None, None, DAY2, None, DAY1),
    ]
    assert _rows(
        "select last_checked_day, last_good_day, days_behind "
        "from quality.report_last_good_day where source = %s",
        dag_id,
    ) == [(DAY2, DAY1, 1)]
    trend = _rows(
        "select day, status, observed_number from quality.report_check_trend "
        "where source = %s and check_name = 'c2' order by day",
        dag_id,
    )
    assert trend == [(DAY1, "pass", Decimal("0")), (DAY2, "fail", Decimal("5"))]
