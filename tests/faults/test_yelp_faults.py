"""Yelp fault scenarios end to end on the local stack: what one bad county, business or
record, a rerun of an older day, or a data-quality warning does to a day's run.

Each test runs the Yelp task's entry point (`ingest_day`) against the local Yelp stand-in
with a fault set through its `/_control`. Expected values come from the stand-in's wire
answers read with plain HTTP (no project code), from the fault itself, or from the Slack
sink's record of what it received."""

import json
import re
import uuid
from datetime import date

import pytest
import requests

from include.connections import get_connection, pg_connect
from include.quality import DataQualityError, RunContext
from tests.helpers import control, reset_yelp

pytestmark = pytest.mark.integration
DAG_ID, TASK_ID = "yelp_businesses", "fetch_land_check_normalize"


# --- the wire, read without project code -----------------------------------------------


def _yelp():
    conn = get_connection("yelp_api")
    return conn.host, {"Authorization": f"Bearer {conn.password}"}


def _locations() -> dict[str, str]:
    """County FIPS -> "<County>, <ST>" of every county the day searches (the OLTP counties
    whose state is on the states page)."""
    with pg_connect("source_db") as conn:
        return dict(
            conn.execute(
                "select c.county_fips, c.county_name || ', ' || s.state_code from oltp.county c "
                "join oltp.census_state cs using (state_fips) "
                "join oltp.state s on lower(s.state_name) = lower(cs.state_name)"
            ).fetchall()
        )


def _wire_search(location: str) -> list[dict]:
    """Every business a county's search lists, in order: pages of 50 until the total or the
    result cap (the cap's 400 says "limit+offset must be <= N": the rest is asked)."""
    host, headers = _yelp()
    found, offset, limit = [], 0, 50
    while True:
        r = requests.get(
            f"{host}/v3/businesses/search",
            headers=headers,
            timeout=10,
            params={"location": location, "limit": limit, "offset": offset},
        )
        if r.status_code == 400:
            error = json.loads(r.content)["error"]
            if error["code"] == "LOCATION_NOT_FOUND":
                return []
            cap = int(re.search(r"<= (\d+)", error["description"])[1])
            if limit == 50 and cap > offset:
                limit = cap - offset
                continue
            return found
        r.raise_for_status()
        body = json.loads(r.content)  # the stdlib reads an unpaired surrogate escape
        found += body["businesses"]
        offset += len(body["businesses"])
        if not body["businesses"] or offset >= body["total"]:
            return found


def _wire_listings() -> dict[tuple[str, str], dict]:
    """(county FIPS, business id) -> the business as listed by that county's search."""
    return {
        (fips, b["id"]): b
        for fips, location in _locations().items()
        for b in _wire_search(location)
    }


def _wire_reviews(business_id: str) -> tuple[str, list[dict]]:
    """(final id, reviews) of a business, following 301s by hand."""
    host, headers = _yelp()
    current = business_id
    for _ in range(4):
        r = requests.get(
            f"{host}/v3/businesses/{current}/reviews",
            headers=headers,
            timeout=10,
            allow_redirects=False,
        )
        if r.status_code == 301:
            current = r.json()["error"]["new_business_id"]
            continue
        return current, r.json().get("reviews", [])
    raise AssertionError(f"{business_id} moved too often")


# --- running the day -------------------------------------------------------------------


def _run(day: date, run_id: str | None = None):
    from include.sources import yelp

    ctx = RunContext(
        run_id=run_id or f"test-faults-{uuid.uuid4()}",
        dag_id=DAG_ID,
        task_id=TASK_ID,
        logical_date=day,
    )
    return ctx.run_id, yelp.ingest_day(day, ctx)


def _checks(run_id: str) -> dict[str, tuple]:
    with pg_connect("source_db") as conn:
        return {
            name: (status, observed, details)
            for name, status, observed, details in conn.execute(
                "select check_name, status, observed, details from quality.check_results "
                "where run_id = %s and dag_id = %s",
                (run_id, DAG_ID),
            )
        }


def _sink() -> str:
    conn = get_connection("slack_alerts")
    return f"{conn.schema}://{conn.host.split('/')[0]}"


def _slack_texts() -> list[str]:
    return [
        m["payload"]["text"]
        for m in requests.get(f"{_sink()}/_messages", timeout=5).json()["messages"]
    ]


@pytest.fixture(scope="module", autouse=True)
def _geography():
    """The states page and the Census counties the Yelp searches are built from."""
    from include.sources import census, states_page

    control({})
    with pg_connect("source_db") as conn:
        counties = conn.execute("select count(*) from oltp.county").fetchone()[0]
        states = conn.execute("select count(*) from oltp.state").fetchone()[0]
    if not (counties and states):
        for source, dag in ((states_page, "states_page"), (census, "census_population")):
            ctx = RunContext(f"test-faults-{uuid.uuid4()}", dag, "t", date(2024, 1, 1))
            source.ingest_day(date(2024, 1, 1), ctx)


@pytest.fixture(autouse=True)
def _clean():
    control({})
    reset_yelp()
    requests.delete(f"{_sink()}/_messages", timeout=5)
    requests.post(f"{_sink()}/_control", json={"mode": "ok"}, timeout=5)
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute("delete from quality.alert_outbox where dag_id = %s", (DAG_ID,))
    yield
    control({})
    reset_yelp()


# --- 1. an older day never rolls back the present ---------------------------------------


def _titles(listings: dict) -> dict[str, str]:
    """Category alias -> title, as the listings carry them."""
    return {c["alias"]: c["title"] for b in listings.values() for c in b["categories"]}


def _review_values(reviews: dict[str, list[dict]]) -> dict[str, tuple]:
    """Review id -> (rating, the first 160 characters of its text: the OLTP excerpt)."""
    return {r["id"]: (r["rating"], r["text"][:160]) for rs in reviews.values() for r in rs}


def _user_values(reviews: dict[str, list[dict]]) -> dict[str, tuple]:
    """User id -> (name, profile URL, picture URL) of the reviews' authors."""
    return {
        r["user"]["id"]: (r["user"]["name"], r["user"]["profile_url"], r["user"]["image_url"])
        for rs in reviews.values()
        for r in rs
    }


def test_a_rerun_or_backfill_of_an_older_day_keeps_the_newer_current_state():
    """Version 1 on D1, version 3 (version 2's prices and ratings plus renamed category
    titles, renamed users, edited reviews) on D2, then D1 again and D0: the present is D2's
    everywhere, and the older days still add their history (holdings)."""
    d0, d1, d2 = date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)
    v1 = _wire_listings()
    sample = sorted({bid for _, bid in v1})[:150]
    reviews_v1 = {bid: _wire_reviews(bid)[1] for bid in sample}
    control({"yelp_version": 3})
    v3 = _wire_listings()
    reviews_v3 = {bid: _wire_reviews(bid)[1] for bid in sample}
    changed = {
        key[1]
        for key, business in v3.items()
        if (business.get("price"), business["rating"]) != (v1[key].get("price"), v1[key]["rating"])
    }
    assert changed, "the stand-in's version 3 must change some businesses"
    final = {bid: _wire_reviews(bid)[0] for bid in changed}
    retitled = {a: t for a, t in _titles(v3).items() if _titles(v1)[a] != t}
    edited = {
        rid: v
        for rid, v in _review_values(reviews_v3).items()
        if _review_values(reviews_v1)[rid] != v
    }
    renamed = {
        uid: v for uid, v in _user_values(reviews_v3).items() if _user_values(reviews_v1)[uid] != v
    }
    assert retitled and edited and renamed, "version 3 must edit titles, reviews and users"

    control({})  # version 1
    _run(d1)
    control({"yelp_version": 3})
    _run(d2)
    control({})  # version 1 again: a rerun of D1, then a backfill of D0 (never run)
    _, rerun = _run(d1)
    assert rerun.fetched.calls == 0  # D1's queue is done: it re-normalizes what it landed
    _run(d0)

    def level(business):
        return len(business["price"]) if business.get("price") else None

    by_id_v1 = {bid: b for (_, bid), b in v1.items()}
    by_id_v3 = {bid: b for (_, bid), b in v3.items()}
    with pg_connect("source_db") as conn:
        current = {
            bid: (price_level, changed_on)
            for bid, price_level, changed_on in conn.execute(
                "select business_id, price_level, changed_on from oltp.business "
                "where business_id = any(%s)",
                (list(final.values()),),
            )
        }
        holdings = {
            (bid, day): float(rating)
            for bid, day, rating in conn.execute(
                "select business_id, holding_date, rating from oltp.business_holding "
                "where business_id = any(%s)",
                (list(final.values()),),
            )
        }
        titles = dict(
            conn.execute(
                "select category_alias, title from oltp.category where category_alias = any(%s)",
                (list(retitled),),
            ).fetchall()
        )
        reviews = {
            rid: (rating, excerpt)
            for rid, rating, excerpt in conn.execute(
                "select review_id, rating, text_excerpt from oltp.review where review_id = any(%s)",
                (list(edited),),
            )
        }
        users = {
            uid: (name, profile, image)
            for uid, name, profile, image in conn.execute(
                "select user_id, user_name, profile_url, image_url from oltp.yelp_user "
                "where user_id = any(%s)",
                (list(renamed),),
            )
        }
    repriced = {bid for bid in changed if level(by_id_v1[bid]) != level(by_id_v3[bid])}
    assert repriced
    for old_id in changed:
        bid = final[old_id]
        assert current[bid][0] == level(by_id_v3[old_id]), (old_id, current[bid])
        if old_id in repriced:
            assert current[bid][1] == d2, (old_id, current[bid])  # the change is D2's
        assert holdings[(bid, d0)] == by_id_v1[old_id]["rating"], old_id
        assert holdings[(bid, d1)] == by_id_v1[old_id]["rating"], old_id
        assert holdings[(bid, d2)] == by_id_v3[old_id]["rating"], old_id
    # Each kind named at once: which of the newer day's values an older day rolled back.
    rolled_back = {
        "category titles": sorted(a for a, t in retitled.items() if titles.get(a) != t),
        "reviews": sorted(r for r, v in edited.items() if reviews.get(r) != v),
        "users": sorted(u for u, v in renamed.items() if users.get(u) != v),
    }
    assert rolled_back == {"category titles": [], "reviews": [], "users": []}


# --- 2. one malformed record is quarantined, not the day --------------------------------


def _small_county_businesses(exclude: set[str] = frozenset()) -> list[tuple[str, str]]:
    """(county FIPS, business id) of businesses listed by exactly one search, in FIPS order,
    skipping the big county (so each fault lands in one search)."""
    listings = _wire_listings()
    searches_of: dict[str, int] = {}
    for _fips, bid in listings:
        searches_of[bid] = searches_of.get(bid, 0) + 1
    per_county: dict[str, int] = {}
    for fips, _bid in listings:
        per_county[fips] = per_county.get(fips, 0) + 1
    return sorted(
        (fips, bid)
        for fips, bid in listings
        if searches_of[bid] == 1 and per_county[fips] < 50 and fips not in exclude
    )


def test_malformed_records_are_quarantined_with_their_reason_and_the_rest_loads(monkeypatch):
    day = date(2025, 4, 1)
    candidates = _small_county_businesses()
    bad = {
        candidates[0][1]: "type",
        candidates[5][1]: "nul",
        candidates[10][1]: "range",
        candidates[15][1]: "surrogate",
    }
    reviewed = []  # two businesses, not moved, with at least two reviews
    for _fips, bid in candidates[20:]:
        final, reviews = _wire_reviews(bid)
        if final == bid and len(reviews) >= 2:
            reviewed.append(bid)
        if len(reviewed) == 2:
            break
    bad_reviews = {reviewed[0]: "year_9999", reviewed[1]: "nul"}
    control({"yelp_bad_businesses": bad, "yelp_bad_reviews": bad_reviews})
    listings = _wire_listings()
    expected_search = {key for key in listings if key[1] not in bad}
    expected_quarantine = {key for key in listings if key[1] in bad}
    assert len(expected_quarantine) == len(bad)
    reviews_of = {bid: _wire_reviews(bid) for bid in bad_reviews}

    run_id, result = _run(day)
    assert result.fetched.stopped is None
    with pg_connect("source_db") as conn:
        landed = set(
            conn.execute(
                "select county_fips, business_id from raw.yelp_search where logical_date = %s",
                (day,),
            ).fetchall()
        )
        quarantined = {
            (t, key, rid): (county, reason, raw)
            for t, key, rid, county, reason, raw in conn.execute(
                "select item_type, item_key, record_id, county_fips, reason, raw_record "
                "from raw.yelp_quarantine where logical_date = %s",
                (day,),
            )
        }
        reviews_landed = dict(
            conn.execute(
                "select business_id, count(*) from raw.yelp_review where logical_date = %s "
                "and business_id = any(%s) group by 1",
                (day, [final for final, _ in reviews_of.values()]),
            ).fetchall()
        )
        normalized = {
            r[0]
            for r in conn.execute(
                "select business_id from oltp.business where business_id = any(%s)",
                (list(bad),),
            )
        }
    assert landed == expected_search
    search_rows = {k: v for k, v in quarantined.items() if k[0] == "search"}
    assert {(v[0], k[2]) for k, v in search_rows.items()} == expected_quarantine
    field_of = {"type": "review_count", "nul": "NUL", "range": "latitude", "surrogate": "surrogate"}
    for (_t, _key, bid), (_county, reason, raw) in search_rows.items():
        assert field_of[bad[bid]] in reason, reason
        assert bid in raw and len(raw.encode()) <= 8192
    assert normalized == set()  # a quarantined business never reaches the OLTP model
    review_rows = {k: v for k, v in quarantined.items() if k[0] == "reviews"}
    assert {k[1] for k in review_rows} == set(bad_reviews)
    assert {k[2] for k in review_rows} == {reviews_of[b][1][0]["id"] for b in bad_reviews}
    for (_t, key, _rid), (_county, reason, _raw) in review_rows.items():
        assert ("time_created" if bad_reviews[key] == "year_9999" else "NUL") in reason, reason
    for final, reviews in reviews_of.values():
        assert reviews_landed[final] == len(reviews) - 1  # the other reviews are in

    checks = _checks(run_id)
    status, observed, details = checks["yelp_quarantine_share"]
    total = len(expected_search) + result.fetched.reviews + len(quarantined)
    assert status == "pass"
    assert float(observed) == pytest.approx(len(quarantined) / total, abs=1e-6)
    assert details["quarantined_businesses"] == len(bad)
    assert details["quarantined_reviews"] == len(bad_reviews)
    assert checks["yelp_day_complete"][0] == "pass"

    # Above the threshold the check fails the run (the records stay landed for a look).
    monkeypatch.setenv("YELP_MAX_BAD_FRACTION", "0.0001")
    with pytest.raises(DataQualityError, match="yelp_quarantine_share"):
        _run(day, run_id=f"test-faults-{uuid.uuid4()}")


# --- 3. a county or a business Yelp cannot find is skipped ------------------------------


def test_a_county_yelp_cannot_find_is_skipped_with_a_warning_and_the_rest_loads():
    day = date(2025, 5, 1)
    locations = _locations()
    lost_fips = next(f for f, loc in sorted(locations.items()) if loc.startswith("Doña Ana"))
    lost_location = locations[lost_fips]
    other = _small_county_businesses(exclude={lost_fips})
    lost_business = next(bid for fips, bid in other if fips != lost_fips)
    control(
        {"yelp_location_not_found": [lost_location], "yelp_business_not_found": [lost_business]}
    )
    expected = set(_wire_listings())  # the lost county's search lists nothing
    assert not any(fips == lost_fips for fips, _ in expected)

    run_id, result = _run(day)
    assert result.fetched.stopped is None
    with pg_connect("source_db") as conn:
        landed = set(
            conn.execute(
                "select county_fips, business_id from raw.yelp_search where logical_date = %s",
                (day,),
            ).fetchall()
        )
        items = {
            (t, key): (status, detail)
            for t, key, status, detail in conn.execute(
                "select item_type, item_key, status, detail from yelp.progress "
                "where logical_date = %s",
                (day,),
            )
        }
        in_oltp = conn.execute(
            "select count(*) from oltp.business where business_id = %s", (lost_business,)
        ).fetchone()[0]
    assert landed == expected
    status, detail = items[("search", lost_fips)]
    assert status == "skipped" and "LOCATION_NOT_FOUND" in detail
    status, detail = items[("reviews", lost_business)]
    assert status == "skipped" and "BUSINESS_NOT_FOUND" in detail
    assert {s for s, _ in items.values()} == {"done", "skipped"}
    assert in_oltp == 0

    checks = _checks(run_id)
    status, observed, details = checks["yelp_locations_not_found"]
    assert (status, observed) == ("warn", "1")
    assert [(c["county_fips"], c["location"]) for c in details["counties"]] == [
        (lost_fips, lost_location)
    ]
    status, observed, details = checks["yelp_businesses_not_found"]
    assert (status, observed) == ("warn", "1")
    assert [b["business_id"] for b in details["businesses"]] == [lost_business]
    assert checks["yelp_day_complete"][0] == "pass"
    texts = _slack_texts()
    assert len(texts) == 1, texts
    assert lost_location in texts[0] and lost_business in texts[0] and str(day) in texts[0]

    # A rerun does not ask the skipped items again, and warns no more.
    run_id, rerun = _run(day)
    assert rerun.fetched.calls == 0
    assert _checks(run_id)["yelp_locations_not_found"][0] == "warn"
    assert len(_slack_texts()) == 1


# --- 4. a warning reaches Slack once per day --------------------------------------------


def test_a_quota_warning_reaches_slack_once_per_day_not_per_retry_or_rerun():
    day, other_day = date(2025, 6, 1), date(2025, 6, 2)
    control({"yelp_daily_quota": 30})
    run_id, first = _run(day)
    assert first.fetched.stopped and "ACCESS_LIMIT_REACHED" in first.fetched.stopped
    assert _checks(run_id)["yelp_day_complete"][0] == "warn"
    texts = _slack_texts()
    assert len(texts) == 1, texts
    assert "yelp_day_complete" in texts[0] and str(day) in texts[0]
    assert "ACCESS_LIMIT_REACHED" in texts[0] and DAG_ID in texts[0]

    # A retry of the same run and a rerun of the day: still stopped, no second message.
    _run(day, run_id=run_id)
    _run(day)
    assert len(_slack_texts()) == 1

    # Another day's stop is that day's warning.
    _, stopped = _run(other_day)
    assert stopped.fetched.stopped
    texts = _slack_texts()
    assert len(texts) == 2 and str(other_day) in texts[1], texts

    # The quota back: the day completes, passes, and says nothing more.
    control({})
    run_id, done = _run(day)
    assert done.fetched.pending == {}
    assert _checks(run_id)["yelp_day_complete"][0] == "pass"
    assert len(_slack_texts()) == 2
    with pg_connect("source_db") as conn:
        kinds = conn.execute(
            "select kind, count(*) from quality.alert_outbox where dag_id = %s group by 1",
            (DAG_ID,),
        ).fetchall()
    assert kinds == [("dq_warning", 2)]
