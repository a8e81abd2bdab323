"""One taxonomy for owners, tags and task defaults, enforced by tests/dags."""

from __future__ import annotations

import os
from datetime import timedelta

from include.sources import SOURCES

OWNERS = {"data-platform"}
LAYERS = {"layer:extract", "layer:warehouse", "layer:quality", "layer:alerts"}
TAGS = {f"source:{name}" for name in SOURCES} | LAYERS


def default_args() -> dict:
    from include.quality.alerts import on_task_failure

    return {
        "owner": "data-platform",
        "retries": int(os.environ.get("ELT_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=int(os.environ.get("ELT_RETRY_DELAY_SECONDS", "60"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": on_task_failure,
        # No task runs unbounded: a hung call fails the try (and alerts after the last).
        "execution_timeout": timedelta(
            minutes=int(os.environ.get("ELT_TASK_TIMEOUT_MINUTES", "120"))
        ),
    }
