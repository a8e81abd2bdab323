"""Settings of the Yelp source."""

from __future__ import annotations

import os

DEFAULT_BASE_URL = "https://api.yelp.com"
MAX_PAGE_SIZE = 50  # Yelp's documented maximum `limit`
MAX_MIGRATIONS = 3  # 301 moves followed for one business before giving up


def daily_call_budget() -> int | None:
    """YELP_DAILY_CALL_BUDGET: calls one run may make (unset: no budget, only Yelp's quota).
    Reaching it ends the run successfully with a `warn`; the next run resumes."""
    budget = os.environ.get("YELP_DAILY_CALL_BUDGET")
    return int(budget) if budget else None
