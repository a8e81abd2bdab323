"""What every integration test shares: the local stack (tests/conftest.py), and a fault-free
local source server on request."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _local_stack(local_stack):
    """Every integration test needs the local stack."""


@pytest.fixture
def reset_faults():
    """The local source server without faults before and after the test."""
    from tests.helpers import control

    control({})
    yield
    control({})
