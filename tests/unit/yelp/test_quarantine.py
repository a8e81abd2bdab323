"""One bad record is set aside with its reason, the rest of its answer is kept: searches
and reviews through the client on scripted answers (no network), and the strict parsers
raising a clear YelpError (never OverflowError) on values PostgreSQL could not store.
Expected values are read off the scripted payloads, not computed by the code under test."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from include.sources.yelp.parser import YelpError, parse_reviews, parse_search, parse_time_created
from tests.unit.yelp.test_client import ScriptedSession, _client, _response

FIXTURES = Path(__file__).parents[2] / "fixtures"


def _search_payload() -> dict:
    return json.loads((FIXTURES / "yelp_search_page.json").read_text(encoding="utf-8"))


def _reviews_payload() -> dict:
    return json.loads((FIXTURES / "yelp_reviews.json").read_text(encoding="utf-8"))


# (field path to spoil, value, a piece of the reason)
BAD_BUSINESSES = [
    (("review_count",), "12", "review_count"),  # a string where a count belongs
    (("name",), "Caf\x00e", "NUL"),  # PostgreSQL text cannot hold NUL
    (("coordinates", "latitude"), 123.4, "latitude"),  # out of range
    (("review_count",), 2**31, "review_count"),  # beyond PostgreSQL's integer
    (("rating",), 0, "rating"),  # not a Yelp rating (1, 1.5, ..., 5): the model rejects it
    (("categories",), [{"alias": "x\x00", "title": "X"}], "NUL"),  # jsonb rejects \u0000
]


def _spoil(record: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
        record = record[key]
    record[path[-1]] = value


@pytest.mark.parametrize("path,value,reason", BAD_BUSINESSES)
def test_a_bad_business_is_set_aside_and_the_rest_of_the_page_kept(path, value, reason):
    payload = _search_payload()
    _spoil(payload["businesses"][1], path, value)
    client = _client(ScriptedSession(_response(200, payload)))
    page = client.search_page("Doña Ana County, NM", 0)
    assert [b.business_id for b in page.businesses] == [
        "WavvLdfdP6g8aZTtbBQHTw",
        "4KdZ8gX0sTqeP4mVbJw8bQ",
    ]
    assert [(r.index, r.record_id) for r in page.rejected] == [(1, "Xg-FyjVKAN70LO4u4Z1ozg")]
    assert reason in page.rejected[0].reason
    assert "businesses[1]" in page.rejected[0].reason
    assert "Xg-FyjVKAN70LO4u4Z1ozg" in page.rejected[0].raw
    assert "\x00" not in page.rejected[0].raw + page.rejected[0].reason  # storable as text


@pytest.mark.parametrize("path,value,reason", BAD_BUSINESSES)
def test_the_strict_parser_still_names_the_bad_field(path, value, reason):
    payload = _search_payload()
    _spoil(payload["businesses"][0], path, value)
    with pytest.raises(YelpError, match=reason) as err:
        parse_search(payload)
    assert err.value.code == "MALFORMED_RESPONSE"


def test_paging_counts_a_set_aside_record_so_no_business_is_skipped_or_repeated():
    business = _search_payload()["businesses"][0]
    first = {"businesses": [{**business, "id": f"b{i}"} for i in range(50)], "total": 60}
    first["businesses"][7]["is_closed"] = "no"
    second = {"businesses": [{**business, "id": f"b{i}"} for i in range(50, 60)], "total": 60}
    session = ScriptedSession(_response(200, first), _response(200, second))
    pages = list(_client(session).search_all("X County, AL"))
    assert [r["params"]["offset"] for r in session.requests] == [0, 50]
    kept = [b.business_id for p in pages for b in p.businesses]
    assert kept == [f"b{i}" for i in range(60) if i != 7]
    assert [(r.index, r.record_id) for p in pages for r in p.rejected] == [(7, "b7")]


def test_an_unpaired_surrogate_escape_sets_aside_its_record_not_the_page():
    payload = _search_payload()
    payload["businesses"][2]["name"] = "SURROGATE"
    body = json.dumps(payload).replace("SURROGATE", "Caf\\ud800e").encode()
    page = _client(ScriptedSession(_response(200, body))).search_page("X County, AL", 0)
    assert [b.business_id for b in page.businesses] == [
        "WavvLdfdP6g8aZTtbBQHTw",
        "Xg-FyjVKAN70LO4u4Z1ozg",
    ]
    assert [r.index for r in page.rejected] == [2]
    assert "surrogate" in page.rejected[0].reason
    page.rejected[0].raw.encode("utf-8")  # the raw text is valid UTF-8


def test_the_raw_record_kept_is_capped_at_8_kb():
    payload = _search_payload()
    payload["businesses"][0]["alias"] = "é" * 20_000
    payload["businesses"][0]["review_count"] = -1
    page = _client(ScriptedSession(_response(200, payload))).search_page("X County, AL", 0)
    assert len(page.rejected) == 1
    assert len(page.rejected[0].raw.encode("utf-8")) <= 8192


@pytest.mark.parametrize(
    "value",
    ["9999-12-31 23:59:59", "0001-01-01T00:00:00+14:00"],  # beyond datetime's range once in UTC
)
def test_a_review_time_out_of_range_is_a_clear_error_not_an_overflow(value):
    with pytest.raises(YelpError, match="time_created") as err:
        parse_time_created(value, "reviews[0].time_created")
    assert err.value.code == "MALFORMED_RESPONSE"


def test_a_review_of_year_9999_is_set_aside_and_the_other_reviews_kept():
    payload = _reviews_payload()
    payload["reviews"][1]["time_created"] = "9999-12-31 23:59:59"
    session = ScriptedSession(_response(200, payload))
    answer = _client(session).fetch_reviews("la-palma-id")
    assert answer.final_id == "la-palma-id"
    assert [r.review_id for r in answer.reviews] == [
        "xAG4O7l-t1ubbwVAlPnDKg",
        "SIoiwwVRH6R2s2ipFfs4Ww",
    ]
    assert answer.reviews[0].time_created == datetime(2016, 8, 29, 7, 41, 13, tzinfo=UTC)
    assert [(r.index, r.record_id) for r in answer.rejected] == [(1, "1JNmYjJgtvWO2hOFa8Q3ew")]
    assert "reviews[1].time_created" in answer.rejected[0].reason
    assert "9999-12-31" in answer.rejected[0].raw


def test_a_review_with_nul_text_is_set_aside():
    payload = _reviews_payload()
    payload["reviews"][0]["text"] = "great\x00food"
    answer = _client(ScriptedSession(_response(200, payload))).fetch_reviews("b")
    assert [r.index for r in answer.rejected] == [0] and len(answer.reviews) == 2
    assert "NUL" in answer.rejected[0].reason


def test_the_strict_reviews_parser_raises_a_yelp_error_for_year_9999():
    payload = _reviews_payload()
    payload["reviews"][2]["time_created"] = "9999-12-31 23:59:59"
    with pytest.raises(YelpError, match=r"reviews\[2\]\.time_created"):
        parse_reviews(payload, "b")
