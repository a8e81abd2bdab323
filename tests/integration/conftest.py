"""What every integration test shares: the local stack's connections must be in the
environment (`make test` exports them), and the source migrations are applied once."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _local_stack():
    if "AIRFLOW_CONN_SOURCE_DB" not in os.environ:
        pytest.fail('run under `make test` (or eval "$(make -s env)") so the connections exist')
    from include.migrations import migrate

    migrate()


@pytest.fixture
def reset_faults():
    """The local source server without faults before and after the test."""
    from tests.helpers import control

    control({})
    yield
    control({})
