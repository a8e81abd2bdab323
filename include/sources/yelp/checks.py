"""Checks on Yelp's day D: Great Expectations suites on the landed search and review rows
(the batch is the logical day's rows: pages land as they come, resumably), the
completeness of the day's work queue, the share of records quarantined, and the items Yelp
could not serve."""

from __future__ import annotations

from datetime import date

from include.landing import read_sql
from include.quality import CheckResult
from include.quality.gx import Check, Suite, gxe
from include.sources.yelp.parser import PRICES

LISTED = 50  # items named in a check's details (the count is always whole)

SEARCH_SUITE = Suite(
    name="yelp_search",
    target="raw.yelp_search",
    query=(
        "select *, rating::float8 as rating_value from raw.yelp_search "
        "where logical_date = '{batch_id}'"
    ),
    checks=(
        Check(
            "yelp_business_unique_per_county_search",
            "uniqueness",
            lambda: gxe().ExpectCompoundColumnsToBeUnique(
                column_list=["county_fips", "business_id"]
            ),
        ),
        Check(
            "yelp_business_id_not_null",
            "completeness",
            lambda: gxe().ExpectColumnValuesToNotBeNull(column="business_id"),
        ),
        Check(
            "yelp_rating_half_steps_1_to_5",
            "validity",
            lambda: gxe().ExpectColumnValuesToBeInSet(
                column="rating_value", value_set=[1 + i / 2 for i in range(9)]
            ),
        ),
        Check(
            "yelp_price_dollar_signs_or_null",
            "validity",
            lambda: gxe().ExpectColumnValuesToBeInSet(column="price", value_set=list(PRICES)),
        ),
        Check(
            "yelp_latitude_in_range",
            "validity",
            lambda: gxe().ExpectColumnValuesToBeBetween(
                column="latitude", min_value=-90, max_value=90
            ),
        ),
        Check(
            "yelp_longitude_in_range",
            "validity",
            lambda: gxe().ExpectColumnValuesToBeBetween(
                column="longitude", min_value=-180, max_value=180
            ),
        ),
        Check(
            "yelp_review_count_non_negative",
            "validity",
            lambda: gxe().ExpectColumnValuesToBeBetween(column="review_count", min_value=0),
        ),
    ),
)

REVIEW_SUITE = Suite(
    name="yelp_review",
    target="raw.yelp_review",
    query="select * from raw.yelp_review where logical_date = '{batch_id}'",
    checks=(
        Check(
            "yelp_review_id_unique",
            "uniqueness",
            lambda: gxe().ExpectColumnValuesToBeUnique(column="review_id"),
        ),
        Check(
            "yelp_review_rating_1_to_5",
            "validity",
            lambda: gxe().ExpectColumnValuesToBeBetween(column="rating", min_value=1, max_value=5),
        ),
        Check(
            "yelp_review_user_not_null",
            "completeness",
            lambda: gxe().ExpectColumnValuesToNotBeNull(column="user_id"),
        ),
    ),
)


def completeness_check(day: date, fetched) -> CheckResult:
    """`warn` while the day's queue has items left (a quota or budget stop)."""
    left = sum(fetched.pending.values())
    return CheckResult(
        "yelp_day_complete",
        "completeness",
        "yelp.progress",
        "pass" if left == 0 else "warn",
        left,
        0,
        {
            "pending": fetched.pending,
            "stopped": fetched.stopped,
            "calls": fetched.calls,
            "day": day.isoformat(),
        },
    )


def quarantine_check(day: date, counts: dict) -> CheckResult:
    """The share of D's records (search rows and reviews) set aside in raw.yelp_quarantine:
    `fail` above YELP_MAX_BAD_FRACTION (the rest was landed all the same)."""
    from include.sources.yelp.settings import max_bad_fraction

    bad = counts["bad_businesses"] + counts["bad_reviews"]
    total = counts["businesses"] + counts["reviews"] + bad
    share = bad / total if total else 0.0
    limit = max_bad_fraction()
    return CheckResult(
        "yelp_quarantine_share",
        "validity",
        "raw.yelp_quarantine",
        "pass" if share <= limit else "fail",
        round(share, 6),
        f"<= {limit}",
        {
            "quarantined_businesses": counts["bad_businesses"],
            "quarantined_reviews": counts["bad_reviews"],
            "records": total,
            "sample": counts.get("sample", []),
            "day": day.isoformat(),
        },
    )


def not_found_checks(day: date, skipped: list[tuple]) -> list[CheckResult]:
    """`warn` naming the counties Yelp could not find (LOCATION_NOT_FOUND) and the
    businesses whose reviews it could not find (BUSINESS_NOT_FOUND): skipped, the rest of
    the day loaded. `skipped` rows: (item_type, item_key, location, detail)."""
    counties = [
        {"county_fips": key, "location": location, "detail": detail}
        for item_type, key, location, detail in skipped
        if item_type == "search"
    ]
    businesses = [
        {"business_id": key, "detail": detail}
        for item_type, key, _location, detail in skipped
        if item_type == "reviews"
    ]
    return [
        CheckResult(
            "yelp_locations_not_found",
            "completeness",
            "yelp.progress",
            "warn" if counties else "pass",
            len(counties),
            0,
            {"counties": counties[:LISTED], "day": day.isoformat()},
        ),
        CheckResult(
            "yelp_businesses_not_found",
            "completeness",
            "yelp.progress",
            "warn" if businesses else "pass",
            len(businesses),
            0,
            {"businesses": businesses[:LISTED], "day": day.isoformat()},
        ),
    ]


def day_checks(conn, day: date) -> list[CheckResult]:
    """The quarantine share and the not-found checks of D, from what D's runs recorded."""
    p = {"d": day}
    row = conn.execute(read_sql(__file__, "quarantine_counts"), p).fetchone()
    counts = dict(zip(("businesses", "reviews", "bad_businesses", "bad_reviews"), row))
    counts["sample"] = [
        {"item_type": t, "item_key": k, "position": pos, "reason": reason}
        for t, k, pos, reason in conn.execute(read_sql(__file__, "quarantine_sample"), p)
    ]
    skipped = conn.execute(read_sql(__file__, "skipped_items"), p).fetchall()
    return [quarantine_check(day, counts), *not_found_checks(day, skipped)]
