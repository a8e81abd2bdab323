import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Every dag.test() of the suite needs local.run's fix for Airflow 3.3.2's deadline crash
# (apache/airflow#73428), whichever test file runs alone.
import local.run  # noqa: F401


@pytest.fixture(scope="session")
def local_stack():
    """The local stack's connections are in the environment (`make test` exports them) and
    the source migrations are applied, once. Integration and fault tests use it."""
    if "AIRFLOW_CONN_SOURCE_DB" not in os.environ:
        pytest.fail('run under `make test` (or eval "$(make -s env)") so the connections exist')
    from include.migrations import migrate

    migrate()
