"""Yelp Fusion parsers on recorded-format fixtures (tests/fixtures/yelp_*): the expected
values are read off the fixture files by hand, never from the parser."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from include.sources.yelp.parser import (
    Business,
    YelpError,
    migrated_business_id,
    parse_error,
    parse_reviews,
    parse_search,
    parse_time_created,
)

FIXTURES = Path(__file__).parents[2] / "fixtures"


def _json(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_search_page_is_typed_field_by_field():
    businesses, total = parse_search(_json("yelp_search_page.json"))
    assert total == 1250
    assert [b.business_id for b in businesses] == [
        "WavvLdfdP6g8aZTtbBQHTw",
        "Xg-FyjVKAN70LO4u4Z1ozg",
        "4KdZ8gX0sTqeP4mVbJw8bQ",
    ]
    assert businesses[0] == Business(
        business_id="WavvLdfdP6g8aZTtbBQHTw",
        alias="gary-danko-san-francisco",
        name="Gary Danko",
        is_closed=False,
        url="https://www.yelp.com/biz/gary-danko-san-francisco",  # tracking query dropped
        phone="+14157492060",
        review_count=5296,
        rating=4.5,
        price="$$$$",
        latitude=37.80587,
        longitude=-122.42058,
        address1="800 N Point St",
        address2=None,
        address3=None,
        city="San Francisco",
        zip_code="94109",
        country="US",
        state="CA",
        categories=(
            ("wine_bars", "Wine Bars"),
            ("newamerican", "American (New)"),
            ("french", "French"),
        ),
        transactions=("delivery", "pickup", "restaurant_reservation"),
    )


def test_missing_price_empty_phone_empty_transactions_and_unicode():
    cafe = parse_search(_json("yelp_search_page.json"))[0][1]
    assert cafe.name == "Café Doña Ana"
    assert cafe.price is None  # no "price" key at all on the wire
    assert cafe.phone is None  # "" on the wire
    assert cafe.transactions == ()
    assert (cafe.address1, cafe.address2, cafe.address3) == ("1340 Calle de Niños", "Ste 4", None)
    assert cafe.categories == (("cafes", "Cafes"),)


def test_closed_business_with_null_coordinates_and_address():
    pho = parse_search(_json("yelp_search_page.json"))[0][2]
    assert pho.name == "Pho Saigon Phở"
    assert pho.is_closed is True
    assert (pho.latitude, pho.longitude) == (None, None)
    assert (pho.address1, pho.zip_code, pho.city) == (None, None, "Las Cruces")
    assert pho.price == "$" and pho.rating == 3.5


def test_empty_page_past_the_end():
    assert parse_search({"businesses": [], "total": 7, "region": {}}) == ([], 7)


def test_malformed_payload_missing_businesses_names_the_field():
    with pytest.raises(YelpError, match="no 'businesses' list") as err:
        parse_search(_json("yelp_search_malformed.json"))
    assert err.value.code == "MALFORMED_RESPONSE"


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("id", "", r"businesses\[0\]\.id is missing"),
        ("rating", "4.5", r"businesses\[0\]\.rating is str '4\.5', not a number"),
        ("rating", 7, r"businesses\[0\]\.rating 7 is outside"),
        ("price", "€€", r"businesses\[0\]\.price '€€' is not one of"),
        ("is_closed", "false", r"businesses\[0\]\.is_closed is missing or not a boolean"),
        ("review_count", None, r"businesses\[0\]\.review_count is missing"),
        ("categories", [{"alias": "x"}], r"businesses\[0\]\.categories\[0\]\.title is missing"),
        ("transactions", "pickup", r"businesses\[0\]\.transactions is not a list"),
    ],
)
def test_bad_business_fields_are_named(field, value, message):
    payload = _json("yelp_search_page.json")
    payload["businesses"][0][field] = value
    with pytest.raises(YelpError, match=message):
        parse_search(payload)


def test_total_must_be_a_count():
    payload = _json("yelp_search_page.json")
    del payload["total"]
    with pytest.raises(YelpError, match="'total' is missing"):
        parse_search(payload)


def test_an_error_body_given_to_the_parser_is_that_error():
    with pytest.raises(YelpError, match="LOCATION_NOT_FOUND"):
        parse_search(_json("yelp_error_location_not_found.json"))


def test_reviews_are_typed_with_utc_times_from_pacific_time():
    reviews = parse_reviews(_json("yelp_reviews.json"), "la-palma-id")
    assert [r.review_id for r in reviews] == [
        "xAG4O7l-t1ubbwVAlPnDKg",
        "1JNmYjJgtvWO2hOFa8Q3ew",
        "SIoiwwVRH6R2s2ipFfs4Ww",
    ]
    assert {r.business_id for r in reviews} == {"la-palma-id"}
    first, second, third = reviews
    assert (first.user_id, first.user_name, first.rating) == (
        "W8UK02IDdRS2GL_66fuq6w",
        "Ella A.",
        5,
    )
    # Summer: PDT is UTC-7.
    assert first.time_created == datetime(2016, 8, 29, 7, 41, 13, tzinfo=UTC)
    # Winter: PST is UTC-8.
    assert second.time_created == datetime(2017, 1, 5, 18, 0, tzinfo=UTC)
    # 01:30 on the autumn change happens twice: the first (PDT) reading is taken.
    assert third.time_created == datetime(2016, 11, 6, 8, 30, tzinfo=UTC)
    assert second.user_image_url is None and second.user_name == "José Z."
    assert second.text == "The phở was great — the broth is rich.\nCrème brûlée for dessert..."
    assert third.text == "" and third.rating == 1
    assert first.user_id == third.user_id  # one user, two reviews


def test_review_time_with_an_offset_keeps_it():
    assert parse_time_created("2020-03-01T12:00:00+00:00") == datetime(2020, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda r: r.update(rating=6), r"reviews\[0\]\.rating is missing or not an integer 1-5"),
        (lambda r: r.update(time_created="29/08/2016"), r"reviews\[0\]\.time_created '29/08/2016'"),
        (lambda r: r.pop("user"), r"reviews\[0\]\.user is missing"),
        (lambda r: r["user"].pop("id"), r"reviews\[0\]\.user\.id is missing"),
    ],
)
def test_bad_review_fields_are_named(mutate, message):
    payload = _json("yelp_reviews.json")
    mutate(payload["reviews"][0])
    with pytest.raises(YelpError, match=message):
        parse_reviews(payload, "b")


def test_reviews_payload_without_reviews():
    with pytest.raises(YelpError, match="no 'reviews' list"):
        parse_reviews({"total": 0}, "b")


@pytest.mark.parametrize(
    "fixture,status,code,description_part",
    [
        ("validation_cap", 400, "VALIDATION_ERROR", "limit+offset must be <= 240"),
        ("validation_limit", 400, "VALIDATION_ERROR", "51 is greater than the maximum of 50"),
        (
            "too_many_requests_per_second",
            429,
            "TOO_MANY_REQUESTS_PER_SECOND",
            "queries-per-second limit",
        ),
        ("access_limit_reached", 429, "ACCESS_LIMIT_REACHED", "reached the access limit"),
        ("business_migrated", 301, "BUSINESS_MIGRATED", "has been migrated"),
        ("token_invalid", 401, "TOKEN_INVALID", "Invalid access token"),
        ("location_not_found", 400, "LOCATION_NOT_FOUND", "more exact location"),
        ("business_not_found", 404, "BUSINESS_NOT_FOUND", "could not be found"),
    ],
)
def test_error_bodies(fixture, status, code, description_part):
    body = (FIXTURES / f"yelp_error_{fixture}.json").read_bytes()
    got_code, description = parse_error(status, body)
    assert got_code == code
    assert description_part in description
    assert parse_error(status, body.decode()) == (got_code, description)  # str as bytes


def test_migrated_business_id_from_body_or_location():
    body = (FIXTURES / "yelp_error_business_migrated.json").read_bytes()
    assert migrated_business_id(body, None) == "new-id-Xg-FyjVKAN70LO4u4Z"
    assert migrated_business_id(b"", "/v3/businesses/abc_-1/reviews") == "abc_-1"
    assert migrated_business_id(b"<html></html>", None) is None


def test_html_page_is_named_not_a_json_crash():
    body = (FIXTURES / "yelp_captive_portal.html").read_bytes()
    code, description = parse_error(200, body)
    assert code == "HTML_RESPONSE"
    assert "Hotel Wi-Fi – Sign in" in description and "yelp_api connection" in description


def test_non_json_and_unknown_json_errors():
    assert parse_error(502, b"Bad Gateway\n")[0] == "NON_JSON_RESPONSE"
    assert "Bad Gateway" in parse_error(502, b"Bad Gateway\n")[1]
    code, description = parse_error(500, b'{"message": "oops"}')
    assert code == "UNKNOWN_ERROR" and "oops" in description
    assert parse_error(500, b"")[0] == "NON_JSON_RESPONSE"
