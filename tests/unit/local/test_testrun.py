"""`make test`'s two lanes (local/testrun.py): which arguments run one pytest instead, and
the exit status of the two."""

import pytest

from local.testrun import lanes_status, picks_tests


@pytest.mark.parametrize(
    "args",
    [
        ["tests/unit"],
        ["tests/integration/warehouse/test_queued_days.py"],
        ["tests/dags/test_dag_integrity.py::test_no_import_errors"],
        ["-k", "yelp"],
        ["-kyelp"],
        ["-m", "integration"],
        ["--durations=0", "tests/deployment"],
    ],
)
def test_arguments_that_pick_tests_run_one_pytest(args):
    assert picks_tests(args)


@pytest.mark.parametrize("args", [[], ["--durations=0"], ["-x", "--junitxml=/tmp/j.xml"]])
def test_arguments_that_pick_no_tests_run_both_lanes(args):
    assert not picks_tests(args)


def test_the_run_fails_when_either_lane_fails_or_collects_nothing():
    assert lanes_status(0, 0) == 0
    assert lanes_status(1, 0) == 1
    assert lanes_status(0, 1) == 1
    assert lanes_status(0, 5) == 5  # pytest's "no tests collected" is a failure
    assert lanes_status(5, 0) == 5
    assert lanes_status(2, 1) == 2
