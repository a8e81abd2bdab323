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


# --- bounds of the parse, in bytes (a batch is also at most parser.BATCH_LINES lines) -------
# Measured on the local stand-in's data (local/sources/amplitude.py, shaped like Amplitude's
# export): lines of at most ~1 kB, members inflating 3.5-7.8x (7.8x for a 4 MB member);
# Amplitude's HTTP V2 API takes at most 1 MB per request, so one event is smaller than that.
RAW_LINE_KEEP_BYTES = 8192  # a quarantined line keeps its first 8 kB and a note of its length


def max_line_bytes() -> int:
    """AMPLITUDE_MAX_LINE_BYTES: a longer line is quarantined with its length, read past
    without being held (default 4 MiB: 4x the largest event Amplitude's HTTP API accepts)."""
    return int(os.environ.get("AMPLITUDE_MAX_LINE_BYTES", str(4 << 20)))


def max_inflate_ratio() -> float:
    """AMPLITUDE_MAX_INFLATE_RATIO: a gzip member that inflates past this many times its size
    in the zip is quarantined whole, as a zip bomb (default 100; the data inflates < 10x,
    a deflate bomb ~1000x)."""
    return float(os.environ.get("AMPLITUDE_MAX_INFLATE_RATIO", "100"))


def inflate_floor_bytes() -> int:
    """AMPLITUDE_INFLATE_FLOOR_BYTES: every member may inflate to at least this much,
    whatever its ratio (default 64 MiB), so a small but repetitive member is not refused."""
    return int(os.environ.get("AMPLITUDE_INFLATE_FLOOR_BYTES", str(64 << 20)))


def batch_bytes() -> int:
    """AMPLITUDE_BATCH_BYTES: a batch of lines is cut once it holds this many bytes
    (default 32 MiB; 10,000 lines of the usual ~1 kB are ~10 MB), so memory follows bytes."""
    return int(os.environ.get("AMPLITUDE_BATCH_BYTES", str(32 << 20)))
