"""YelpClient's control flow against a scripted session (no network): retries, budgets,
the cap, redirects and error bodies are decided from canned responses."""

import json
from pathlib import Path

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from include.sources.yelp.client import YelpClient
from include.sources.yelp.parser import YelpError, YelpQuotaExhausted

FIXTURES = Path(__file__).parents[2] / "fixtures"
KEY = "secret-key-123"
RATE_HEADERS = {
    "RateLimit-DailyLimit": "5000",
    "RateLimit-Remaining": "4321",
    "RateLimit-ResetTime": "2024-01-16T00:00:00+00:00",
}


def _response(
    status: int, body, headers: dict | None = None, content_type: str = "application/json"
) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp.headers = CaseInsensitiveDict(
        {"Content-Type": content_type, **RATE_HEADERS, **(headers or {})}
    )
    return resp


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class ScriptedSession:
    """Answers each GET with the next scripted response and records the request."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.requests = []

    def get(self, url, params=None, headers=None, allow_redirects=True, **_):
        self.requests.append(
            {"url": url, "params": params, "headers": headers, "allow_redirects": allow_redirects}
        )
        return self.responses.pop(0)


def _client(session, **kw) -> YelpClient:
    client = YelpClient("http://yelp.test/", KEY, session=session, **kw)
    client._sleep = lambda seconds: client.sleeps.append(seconds)
    client.sleeps = []
    return client


def _page(n: int, total: int, start: int = 0) -> dict:
    business = json.loads(_fixture("yelp_search_page.json"))["businesses"][0]
    return {"businesses": [{**business, "id": f"b{start + i}"} for i in range(n)], "total": total}


def test_bearer_key_and_no_automatic_redirects():
    session = ScriptedSession(_response(200, _page(1, 1)))
    client = _client(session)
    client.search_page("Doña Ana County, NM", 0)
    request = session.requests[0]
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert request["url"] == "http://yelp.test/v3/businesses/search"
    assert request["params"] == {"location": "Doña Ana County, NM", "limit": 50, "offset": 0}
    assert request["allow_redirects"] is False
    assert client.calls == 1
    assert client.rate_limit == {
        "daily_limit": 5000,
        "remaining": 4321,
        "reset_time": "2024-01-16T00:00:00+00:00",
    }


def test_per_second_429_backs_off_exponentially_then_succeeds():
    rps = _fixture("yelp_error_too_many_requests_per_second.json")
    session = ScriptedSession(_response(429, rps), _response(429, rps), _response(200, _page(2, 2)))
    client = _client(session, rps_backoff=0.5)
    page = client.search_page("X County, AL", 0)
    assert [b.business_id for b in page.businesses] == ["b0", "b1"]
    assert client.sleeps == [0.5, 1.0]
    assert client.calls == 3


def test_per_second_429_gives_up_after_rps_retries():
    rps = _fixture("yelp_error_too_many_requests_per_second.json")
    session = ScriptedSession(*[_response(429, rps) for _ in range(3)])
    client = _client(session, rps_retries=2, rps_backoff=0.1)
    with pytest.raises(YelpError, match=r"TOO_MANY_REQUESTS_PER_SECOND.*after 2 retries") as err:
        client.search_page("X County, AL", 0)
    assert not isinstance(err.value, YelpQuotaExhausted)
    assert client.calls == 3 and len(client.sleeps) == 2


def test_access_limit_is_quota_exhausted_without_retry():
    session = ScriptedSession(_response(429, _fixture("yelp_error_access_limit_reached.json")))
    client = _client(session)
    with pytest.raises(YelpQuotaExhausted, match="ACCESS_LIMIT_REACHED"):
        client.reviews("abc")
    assert client.calls == 1 and client.sleeps == []


def test_max_calls_raises_before_the_call():
    session = ScriptedSession(_response(200, _page(1, 1)))
    client = _client(session, max_calls=1)
    client.search_page("X County, AL", 0)
    with pytest.raises(YelpQuotaExhausted, match="budget of 1 calls"):
        client.search_page("X County, AL", 1)
    assert len(session.requests) == 1 and client.calls == 1


def test_paging_asks_a_smaller_last_page_and_stops_at_the_cap():
    cap = _fixture("yelp_error_validation_cap.json")
    session = ScriptedSession(
        *[_response(200, _page(50, 300, start)) for start in range(0, 200, 50)],
        _response(400, cap),  # offset 200, limit 50: over the cap
        _response(200, _page(40, 300, 200)),  # offset 200, limit 40
    )
    client = _client(session)
    pages = list(client.search_all("Big County, CA"))
    assert [b.business_id for p in pages for b in p.businesses] == [f"b{i}" for i in range(240)]
    assert [r["params"]["limit"] for r in session.requests] == [50, 50, 50, 50, 50, 40]
    assert client.result_cap == 240 and client.calls == 6
    assert client.search_page("Big County, CA", 240) is None  # no call at the cap
    assert client.calls == 6


def test_other_validation_errors_are_errors():
    session = ScriptedSession(_response(400, _fixture("yelp_error_validation_limit.json")))
    with pytest.raises(YelpError, match="greater than the maximum of 50"):
        _client(session).search_page("X County, AL", 0)


def test_search_all_stops_at_total_and_resumes_from_an_offset():
    session = ScriptedSession(_response(200, _page(50, 70, 20)), _response(200, _page(0, 70)))
    pages = list(_client(session).search_all("X County, AL", start_offset=20))
    assert [(p.offset, len(p.businesses)) for p in pages] == [(20, 50)]
    assert len(session.requests) == 1


def test_migrated_business_is_followed_to_the_new_id():
    moved = _fixture("yelp_error_business_migrated.json")
    session = ScriptedSession(
        _response(301, moved, {"Location": "/v3/businesses/new-id-Xg-FyjVKAN70LO4u4Z/reviews"}),
        _response(200, _fixture("yelp_reviews.json")),
    )
    client = _client(session)
    final_id, reviews = client.reviews("old-id")
    assert final_id == "new-id-Xg-FyjVKAN70LO4u4Z"
    assert {r.business_id for r in reviews} == {final_id} and len(reviews) == 3
    assert session.requests[1]["url"].endswith("/v3/businesses/new-id-Xg-FyjVKAN70LO4u4Z/reviews")


def test_html_with_200_is_a_clear_error():
    session = ScriptedSession(
        _response(
            200, _fixture("yelp_captive_portal.html"), content_type="text/html; charset=utf-8"
        )
    )
    with pytest.raises(YelpError, match=r"HTML page with status 200 .Hotel Wi-Fi"):
        _client(session).search_page("X County, AL", 0)


def test_5xx_after_the_session_retries_is_an_error():
    session = ScriptedSession(
        _response(
            503, b"<html><title>503 Service Unavailable</title></html>", content_type="text/html"
        )
    )
    with pytest.raises(YelpError, match=r"HTTP 503.*503 Service Unavailable") as err:
        _client(session).reviews("abc")
    assert err.value.status == 503


def test_the_key_never_reaches_an_error_message():
    echo = {"error": {"code": "TOKEN_INVALID", "description": f"bad token {KEY}"}}
    session = ScriptedSession(_response(401, echo))
    with pytest.raises(YelpError) as err:
        _client(session).search_page("X County, AL", 0)
    assert err.value.code == "TOKEN_INVALID"
    assert KEY not in str(err.value) and KEY not in repr(err.value)
    assert KEY not in err.value.description


def test_missing_key_is_refused_up_front():
    with pytest.raises(YelpError, match="NO_API_KEY"):
        YelpClient("http://yelp.test", "", session=ScriptedSession())
