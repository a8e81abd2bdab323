"""Settings of the Amplitude source: endpoints, and the thresholds of its checks (read from
the environment when a check runs, so a deployment can tune them without a release)."""

from __future__ import annotations

import os

DEFAULT_BASE_URL = "https://amplitude.com"  # EU: https://analytics.eu.amplitude.com
EXPORT_PATH = "/api/2/export"
CHUNK = 1 << 20  # download chunk, bytes
TIMEOUT = (10, 300)  # connect, read (seconds): big exports take a while to start


def max_bad_fraction() -> float:
    """AMPLITUDE_MAX_BAD_FRACTION: the share of the day's lines that may be quarantined
    before the task fails (after loading the rest)."""
    return float(os.environ.get("AMPLITUDE_MAX_BAD_FRACTION", "0.01"))


def event_time_latency_hours() -> float:
    """AMPLITUDE_EVENT_TIME_LATENCY_HOURS: how far outside UTC day D an event_time may fall
    (the export is by upload time; Amplitude's documented export delay is ~2 h)."""
    return float(os.environ.get("AMPLITUDE_EVENT_TIME_LATENCY_HOURS", "2"))


def event_time_mostly() -> float:
    """AMPLITUDE_EVENT_TIME_MOSTLY: the share of events that must be inside that window
    (offline clients upload late)."""
    return float(os.environ.get("AMPLITUDE_EVENT_TIME_MOSTLY", "0.99"))
