"""dbt's sources.json -> timeliness CheckResults (include.quality.freshness), without dbt."""

from include.quality.freshness import freshness_checks

CRITERIA = {
    "warn_after": {"count": 36, "period": "hour"},
    "error_after": {"count": 72, "period": "hour"},
    "filter": None,
}


def _result(uid, status, age=None, **extra):
    r = {"unique_id": uid, "status": status, "criteria": CRITERIA, **extra}
    if age is not None:
        r.update(
            max_loaded_at="2024-01-15T00:00:00+00:00",
            snapshotted_at="2024-01-16T00:00:00+00:00",
            max_loaded_at_time_ago_in_s=age,
        )
    return r


def test_dbt_statuses_map_to_check_statuses():
    sources = {
        "results": [
            _result("source.elt.yelp.business_holding", "pass", 3600),
            _result("source.elt.amplitude.amplitude_event", "warn", 40 * 3600),
            _result("source.elt.census.county", "error", 100 * 3600),
            _result(
                "source.elt.yelp.review",
                "runtime error",
                message='Database Error\n  relation "staging.review" does not exist',
            ),
            _result(
                "source.elt.yelp.city",
                "runtime error",
                message="Expected a non-null value when querying field '_loaded_at' of table "
                "staging.city but received value 'None' instead",
            ),
            _result("source.elt.yelp.category", "runtime error", message="permission denied"),
        ]
    }
    checks = {c.check_name: c for c in freshness_checks(sources, warehouse="postgres")}
    assert {n: c.status for n, c in checks.items()} == {
        "freshness_yelp_business_holding": "pass",
        "freshness_amplitude_amplitude_event": "warn",
        "freshness_census_county": "fail",
        # Nothing staged yet (a new deployment, a source that never delivered): a warn.
        "freshness_yelp_review": "warn",
        "freshness_yelp_city": "warn",
        # Anything else dbt could not evaluate is an error (not evaluated), never a pass.
        "freshness_yelp_category": "error",
    }
    county = checks["freshness_census_county"]
    assert county.dimension == "timeliness"
    assert county.target == "staging.county"
    assert county.observed == 100.0  # hours
    assert county.expected == "warn after 36 hour, error after 72 hour"
    assert county.details["max_loaded_at"] == "2024-01-15T00:00:00+00:00"
    assert county.details["warehouse"] == "postgres"
    assert "never loaded" in checks["freshness_yelp_review"].details["message"]
    assert "permission denied" in checks["freshness_yelp_category"].details["message"]
