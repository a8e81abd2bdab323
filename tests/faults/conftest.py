"""Fault tests run on the local stack like the integration tests: the same session check
of the connections and the same migrations."""

from tests.integration.conftest import _local_stack  # noqa: F401
