"""Settings of the Yelp source."""

from __future__ import annotations

import os

DEFAULT_BASE_URL = "https://api.yelp.com"
MAX_PAGE_SIZE = 50  # Yelp's documented maximum `limit`
MAX_MIGRATIONS = 3  # 301 moves followed for one business before giving up
RAW_RECORD_MAX_BYTES = 8192  # a quarantined record keeps at most this much of its JSON text


def daily_call_budget() -> int | None:
    """YELP_DAILY_CALL_BUDGET: calls one run may make (unset: no budget, only Yelp's quota).
    Reaching it ends the run successfully with a `warn`; the next run resumes."""
    budget = os.environ.get("YELP_DAILY_CALL_BUDGET")
    return int(budget) if budget else None


def max_bad_fraction() -> float:
    """YELP_MAX_BAD_FRACTION: the share of the day's records (businesses and reviews) that
    may be quarantined before `yelp_quarantine_share` fails (the rest is loaded anyway)."""
    return float(os.environ.get("YELP_MAX_BAD_FRACTION", "0.01"))
