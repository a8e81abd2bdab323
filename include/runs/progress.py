"""Progress lines for long tasks (Yelp's paging, Amplitude's parse): a task log that says
where the work stands as it goes, at a bounded rate, so on-call can tell a slow run from a
stuck one without the log growing with the data."""

from __future__ import annotations

import logging
import os
import time


def every_seconds() -> float:
    """Seconds between two progress lines (`ELT_PROGRESS_LOG_SECONDS`, default 30)."""
    return float(os.environ.get("ELT_PROGRESS_LOG_SECONDS", "30"))


class ProgressLog:
    """`progress(**counts)` logs `message.format(**counts)` at most once per `every` seconds
    (the first call included); `progress(final=True, **counts)` always logs."""

    def __init__(self, logger: logging.Logger, message: str, every: float | None = None):
        self.logger = logger
        self.message = message
        self.every = every_seconds() if every is None else every
        self.lines = 0  # lines logged so far
        self._last: float | None = None

    def __call__(self, final: bool = False, **counts) -> None:
        now = time.monotonic()
        if final or self._last is None or now - self._last >= self.every:
            self._last = now
            self.lines += 1
            self.logger.info("%s", self.message.format(**counts))
