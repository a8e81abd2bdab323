import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(scope="session")
def local_stack():
    """The local stack's connections are in the environment (`make test` exports them) and
    the source migrations are applied, once. Integration and fault tests use it."""
    if "AIRFLOW_CONN_SOURCE_DB" not in os.environ:
        pytest.fail('run under `make test` (or eval "$(make -s env)") so the connections exist')
    from include.migrations import migrate

    migrate()
