"""Checks on Yelp's day D: Great Expectations suites on the landed search and review rows
(the batch is the logical day's rows: pages land as they come, resumably), the
completeness of the day's work queue, the share of records quarantined, and the items Yelp
could not serve. The `warn`s reach Slack once per day (`alert_warnings`)."""

from __future__ import annotations

import logging
from datetime import date

from include.landing import read_sql
from include.quality import CheckResult, RunContext
from include.quality.gx import Check, Suite, gxe
from include.sources.yelp.parser import PRICES

log = logging.getLogger(__name__)
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
        {"item_type": t, "item_key": k, "record_position": pos, "reason": reason}
        for t, k, pos, reason in conn.execute(read_sql(__file__, "quarantine_sample"), p)
    ]
    skipped = conn.execute(read_sql(__file__, "skipped_items"), p).fetchall()
    return [quarantine_check(day, counts), *not_found_checks(day, skipped)]


def _warning_line(result: CheckResult) -> str:
    line = (
        f"• `{result.check_name}` on `{result.target}` ({result.dimension}): "
        f"observed {result.observed}, expected {result.expected}"
    )
    details = result.details or {}
    if details.get("stopped"):
        line += f"; stopped: {details['stopped']}"
    if details.get("counties"):
        line += "; counties: " + ", ".join(
            f"{c['location'] or c['county_fips']} ({c['county_fips']})" for c in details["counties"]
        )
    if details.get("businesses"):
        shown = details["businesses"][:10]
        line += "; businesses: " + ", ".join(b["business_id"] for b in shown)
        if int(result.observed or 0) > len(shown):
            line += f" and {int(result.observed) - len(shown)} more"
    return line[:1500]


def warning_message(dag_id: str, run_id: str, day: date, warned: list[CheckResult]) -> dict:
    """The Slack message for a day's data-quality warnings (the run succeeded on purpose).
    Its `metadata` (Slack's message metadata: event_type + event_payload) names the DAG,
    the day and the checks, which is what `alert_warnings` deduplicates on."""
    text = (
        f":warning: {len(warned)} data-quality warning(s) in DAG `{dag_id}`, logical date "
        f"{day}, run `{run_id}` (the run succeeded; see the DAG's on-call notes)\n"
        + "\n".join(_warning_line(r) for r in warned)
    )
    return {
        "text": text,
        "metadata": {
            "event_type": "dq_warning",
            "event_payload": {
                "dag_id": dag_id,
                "logical_date": day.isoformat(),
                "checks": [r.check_name for r in warned],
            },
        },
    }


def alert_warnings(
    conn, ctx: RunContext, day: date, results: list[CheckResult], conn_id: str = "source_db"
) -> list[str]:
    """Send the run's `warn` checks to Slack as one warning, once per DAG, day and check:
    a check already warned about for that day (in quality.alert_outbox, sent or pending)
    is not sent again by a retry or a rerun. Returns the checks sent; never raises."""
    from include.quality.alerts import send_alert

    warned = [r for r in results if r.status == "warn"]
    if not warned:
        return []
    try:
        already = {
            name
            for (name,) in conn.execute(
                read_sql(__file__, "warned_checks"), {"dag": ctx.dag_id, "d": day.isoformat()}
            )
        }
    except Exception as exc:  # noqa: BLE001 - an alert must never fail the load
        log.error("could not read the alert outbox, not warning Slack: %s", exc)
        return []
    new = [r for r in warned if r.check_name not in already]
    if not new:
        log.info("Yelp warnings for %s already sent: %s", day, [r.check_name for r in warned])
        return []
    send_alert(
        "dq_warning",
        warning_message(ctx.dag_id, ctx.run_id, day, new),
        dag_id=ctx.dag_id,
        run_id=ctx.run_id,
        task_id=ctx.task_id,
        conn_id=conn_id,
    )
    return [r.check_name for r in new]
