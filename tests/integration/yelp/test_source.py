"""The Yelp client against the real local Yelp server (local/sources/yelp.py),
read through the `yelp_api` connection that `make env` exports. Expected values come from
raw HTTP calls with no project code, not from the client under test."""

import os
from collections import Counter

import pytest
import requests

from include.connections import get_connection
from include.sources.yelp.client import YelpClient
from include.sources.yelp.client import from_connection as yelp_client
from include.sources.yelp.parser import YelpError, YelpQuotaExhausted
from tests.helpers import control, request_counts

pytestmark = pytest.mark.integration


def _conn():
    return get_connection("yelp_api")


def _raw(path: str, params: dict | None = None, key: str | None = None) -> requests.Response:
    conn = _conn()
    return requests.get(
        f"{conn.host}{path}",
        params=params,
        allow_redirects=False,
        timeout=10,
        headers={"Authorization": f"Bearer {key or conn.password}"},
    )


def _county_locations(state_fips: str, state_code: str) -> list[str]:
    """'<county>, <ST>' of a state's counties, in FIPS order, from the Census endpoint."""
    census = get_connection("census_api")
    rows = requests.get(
        f"{census.host}/data/2019/pep/population",
        params={
            "get": "NAME",
            "for": "county:*",
            "in": f"state:{state_fips}",
            "key": census.password,
        },
        timeout=10,
    ).json()
    by_fips = sorted((r[2], r[0].rsplit(", ", 1)[0]) for r in rows[1:])
    return [f"{name}, {state_code}" for _fips, name in by_fips]


@pytest.fixture(autouse=True)
def _reset():
    if "AIRFLOW_CONN_YELP_API" not in os.environ:
        pytest.fail('run under `make test` (or eval "$(make -s env)") so the connections exist')
    control({})
    yield
    control({})


@pytest.fixture(scope="module")
def big_county() -> str:
    return _county_locations("06", "CA")[0]


def _fast_client(**kw) -> YelpClient:
    return yelp_client(rps_backoff=0.01, **kw)


def test_paging_stops_cleanly_at_the_cap(big_county):
    client = _fast_client()
    pages = list(client.search_all(big_county))
    ids = [b.business_id for p in pages for b in p.businesses]
    assert len(ids) == 240 and len(set(ids)) == 240
    assert pages[0].total > 240  # more businesses exist than the cap lets through
    # The same 240, in order, read raw in pages of 40 (40 * 6 = 240 is within the cap).
    raw = [
        b["id"]
        for off in range(0, 240, 40)
        for b in _raw(
            "/v3/businesses/search", {"location": big_county, "limit": 40, "offset": off}
        ).json()["businesses"]
    ]
    assert ids == raw
    over = _raw("/v3/businesses/search", {"location": big_county, "limit": 1, "offset": 240})
    assert over.status_code == 400 and over.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_small_county_with_a_non_ascii_name():
    page = _fast_client().search_page("Doña Ana County, NM", 0)
    raw = _raw("/v3/businesses/search", {"location": "Doña Ana County, NM"}).json()
    assert page.total == raw["total"] and len(page.businesses) == raw["total"]
    assert "Café Doña Ana" in {b.name for b in page.businesses}
    assert {b.state for b in page.businesses} == {"NM"}


def test_a_business_appears_in_two_counties():
    first, second = _county_locations("35", "NM")[:2]
    client = _fast_client()
    ids_first = {b.business_id for p in client.search_all(first) for b in p.businesses}
    ids_second = {b.business_id for p in client.search_all(second) for b in p.businesses}
    assert ids_first & ids_second


def test_moved_business_is_followed_to_its_new_id(big_county):
    candidates = [
        b["id"]
        for b in _raw(
            "/v3/businesses/search", {"location": big_county, "limit": 50, "offset": 0}
        ).json()["businesses"]
    ]
    for old_id in candidates:
        answer = _raw(f"/v3/businesses/{old_id}/reviews")
        if answer.status_code == 301:
            break
    else:
        pytest.fail("no moved business among the first 50 of the big county")
    new_id = answer.json()["error"]["new_business_id"]
    assert answer.headers["Location"] == f"/v3/businesses/{new_id}/reviews"
    expected = [r["id"] for r in _raw(f"/v3/businesses/{new_id}/reviews").json()["reviews"]]
    final_id, reviews = _fast_client().reviews(old_id)
    assert final_id == new_id != old_id
    assert [r.review_id for r in reviews] == expected
    assert {r.business_id for r in reviews} <= {new_id}


def test_reviews_at_most_three_and_users_shared(big_county):
    client = _fast_client()
    page = client.search_page(big_county, 0)
    per_user: Counter = Counter()
    for business in page.businesses:
        _final_id, reviews = client.reviews(business.business_id)
        assert len(reviews) <= 3
        assert all(
            1 <= r.rating <= 5 and r.time_created.utcoffset().total_seconds() == 0 for r in reviews
        )
        per_user.update({r.user_id for r in reviews})
    assert per_user.most_common(1)[0][1] >= 2  # a user reviewed several businesses


def test_per_second_429_is_retried_and_succeeds():
    control({"yelp_rps_429_every": 2})
    client = _fast_client()
    assert client.search_page("Doña Ana County, NM", 0).businesses  # call 1
    page = client.search_page("Doña Ana County, NM", 0)  # call 2: 429, call 3
    assert page.businesses
    assert client.calls == 3 and request_counts()["yelp_search"] == 3


def test_daily_quota_raises_quota_exhausted():
    control({"yelp_daily_quota": 2})
    client = _fast_client()
    client.search_page("Doña Ana County, NM", 0)
    client.search_page("Doña Ana County, NM", 0)
    with pytest.raises(YelpQuotaExhausted, match="ACCESS_LIMIT_REACHED"):
        client.search_page("Doña Ana County, NM", 0)
    assert client.rate_limit["remaining"] == 0 and client.rate_limit["daily_limit"] == 2
    assert request_counts()["yelp"] == 3  # no retry of a spent quota


def test_max_calls_raises_before_calling():
    client = _fast_client(max_calls=1)
    client.search_page("Doña Ana County, NM", 0)
    assert request_counts()["yelp"] == 1
    with pytest.raises(YelpQuotaExhausted):
        client.reviews("anything")
    assert request_counts()["yelp"] == 1 and client.calls == 1


def test_version_2_changes_rating_and_price_of_some_businesses(big_county):
    def snapshot():
        return {
            b.business_id: b for p in _fast_client().search_all(big_county) for b in p.businesses
        }

    v1 = snapshot()
    control({"yelp_version": 2})
    v2 = snapshot()
    assert v1.keys() == v2.keys()
    changed = [k for k in v1 if (v1[k].rating, v1[k].price) != (v2[k].rating, v2[k].price)]
    assert 0.02 * len(v1) <= len(changed) <= 0.25 * len(v1)
    assert any(
        v1[k].price and v2[k].price and v1[k].price != v2[k].price and v1[k].rating != v2[k].rating
        for k in changed
    )
    assert all(v1[k].name == v2[k].name and v1[k].alias == v2[k].alias for k in v1)


def test_rate_limit_headers_are_exposed():
    client = _fast_client()
    client.search_page("Doña Ana County, NM", 0)
    raw = _raw("/v3/businesses/search", {"location": "Doña Ana County, NM"})
    assert client.rate_limit["daily_limit"] == int(raw.headers["RateLimit-DailyLimit"])
    assert client.rate_limit["remaining"] == int(raw.headers["RateLimit-Remaining"]) + 1
    assert client.rate_limit["reset_time"] == raw.headers["RateLimit-ResetTime"]
    assert raw.headers["RateLimit-ResetTime"].endswith("T00:00:00+00:00")


def test_wrong_key_is_an_error_without_the_key():
    wrong = "wrong-key-do-not-print"
    client = YelpClient(_conn().host, wrong)
    with pytest.raises(YelpError) as err:
        client.search_page("Doña Ana County, NM", 0)
    assert err.value.code == "TOKEN_INVALID" and err.value.status == 401
    assert wrong not in str(err.value)


def test_unknown_location_and_business():
    client = _fast_client()
    with pytest.raises(YelpError, match="LOCATION_NOT_FOUND"):
        client.search_page("Nowhere County, ZZ", 0)
    with pytest.raises(YelpError, match="BUSINESS_NOT_FOUND"):
        client.reviews("no-such-business")


def test_5xx_is_retried_by_the_session_then_an_error():
    from include.connections.http import retrying_session

    control({"yelp": "500"})
    client = _fast_client(
        session=retrying_session(total=2, backoff=0, retry_statuses=(500, 502, 503, 504))
    )
    with pytest.raises(YelpError, match="HTTP 500"):
        client.search_page("Doña Ana County, NM", 0)
    assert request_counts()["yelp"] == 3 and client.calls == 3  # one call and two retries
