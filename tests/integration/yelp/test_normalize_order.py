"""Normalizing Yelp days out of order: an older day normalized after a newer one (a rerun or
a backfill) adds its history (its holding) but leaves the present as the newer day has it:
the business's described values, its current categories and transactions, and its city's
county. The two days are hand-written raw rows (the expected values are these rows), landed
as the fetch lands them, normalized with the entry point's normalize step."""

import json
import uuid
from datetime import date

import pytest

from include.connections import pg_connect
from include.sources.yelp.normalize import normalize_yelp

pytestmark = pytest.mark.integration
D1, D2, D3 = date(2031, 3, 1), date(2031, 3, 2), date(2031, 3, 3)


@pytest.fixture(scope="module")
def two_counties() -> tuple[str, str, str]:
    """(state code, a county, a later county of that state) from the OLTP geography."""
    from include.quality import RunContext
    from include.sources import census, states_page

    def pick():
        with pg_connect("source_db") as conn:
            return conn.execute(
                "select s.state_code, min(c.county_fips), max(c.county_fips) from oltp.county c "
                "join oltp.census_state cs using (state_fips) "
                "join oltp.state s on lower(s.state_name) = lower(cs.state_name) "
                "group by 1 having count(*) > 1 order by 1 limit 1"
            ).fetchone()

    row = pick()
    if row is None:
        for source, dag in ((states_page, "states_page"), (census, "census_population")):
            source.ingest_day(date(2024, 1, 1), RunContext(f"t-{uuid.uuid4()}", dag, "t", D1))
        row = pick()
    return row


@pytest.fixture
def names():
    """Unique ids for this test's business, categories, transactions and cities; its rows
    are removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    n = {
        "business": f"test-order-{tag}",
        "cat_old": f"test-cat-old-{tag}",
        "cat_new": f"test-cat-new-{tag}",
        "cat_both": f"test-cat-both-{tag}",
        "tx_old": f"test-tx-old-{tag}",
        "tx_new": f"test-tx-new-{tag}",
        "city": f"Test City {tag}",
    }
    yield n
    with pg_connect("source_db", autocommit=True) as conn:
        for table in ("business_category", "business_transaction", "business_holding"):
            conn.execute(f"delete from oltp.{table} where business_id = %s", (n["business"],))
        conn.execute("delete from oltp.business where business_id = %s", (n["business"],))
        conn.execute(
            "delete from oltp.category where category_alias like %s", (f"test-cat-%{tag}",)
        )
        conn.execute(
            "delete from oltp.transaction_type where transaction_type like %s", (f"test-tx-%{tag}",)
        )
        conn.execute("delete from oltp.city where city_name = %s", (n["city"],))
        conn.execute("delete from raw.yelp_search where logical_date = any(%s)", ([D1, D2, D3],))
        conn.execute("delete from yelp.progress where logical_date = any(%s)", ([D1, D2, D3],))


def _land(day: date, county: str, state: str, business: dict) -> None:
    """One search row of `business` for `day`, its reviews item done (no reviews)."""
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(
            "insert into raw.yelp_search (logical_date, county_fips, business_id, search_offset, "
            "alias, name, is_closed, url, phone, review_count, rating, price, latitude, "
            "longitude, address1, city, zip_code, country, state, categories, transactions) "
            "values (%s, %s, %s, 0, %s, %s, false, null, null, %s, %s, %s, 35.0, -106.0, "
            "%s, %s, '88001', 'US', %s, %s::jsonb, %s::jsonb)",
            (
                day,
                county,
                business["id"],
                business["alias"],
                business["name"],
                business["review_count"],
                business["rating"],
                business["price"],
                business["address1"],
                business["city"],
                state,
                json.dumps(business["categories"]),
                json.dumps(business["transactions"]),
            ),
        )
        conn.execute(
            "insert into yelp.progress (logical_date, item_type, item_key, status) "
            "values (%s, 'reviews', %s, 'done')",
            (day, business["id"]),
        )


def _present(business_id: str, city: str) -> dict:
    """The business's current state: its row, current links, its city's county."""
    with pg_connect("source_db") as conn:
        row = conn.execute(
            "select business_name, price_level, address1, city_name, county_fips, changed_on "
            "from oltp.business where business_id = %s",
            (business_id,),
        ).fetchone()
        categories = {
            r[0]
            for r in conn.execute(
                "select category_alias from oltp.business_category "
                "where business_id = %s and is_current",
                (business_id,),
            )
        }
        transactions = {
            r[0]
            for r in conn.execute(
                "select transaction_type from oltp.business_transaction "
                "where business_id = %s and is_current",
                (business_id,),
            )
        }
        city_county = conn.execute(
            "select county_fips from oltp.city where city_name = %s", (city,)
        ).fetchone()
        holdings = {
            d: (float(rating), count)
            for d, rating, count in conn.execute(
                "select holding_date, rating, review_count from oltp.business_holding "
                "where business_id = %s",
                (business_id,),
            )
        }
    return {
        "row": row,
        "categories": categories,
        "transactions": transactions,
        "city_county": city_county,
        "holdings": holdings,
    }


def test_an_older_day_normalized_after_a_newer_one_adds_history_and_keeps_the_present(
    two_counties, names
):
    state, first_county, later_county = two_counties
    old = {
        "id": names["business"],
        "alias": "test-order-old",
        "name": "Old Name Diner",
        "review_count": 10,
        "rating": 3.0,
        "price": "$",
        "address1": "1 Old Rd",
        "city": names["city"],
        "categories": [[names["cat_old"], "Old"], [names["cat_both"], "Both"]],
        "transactions": [names["tx_old"]],
    }
    new = {
        **old,
        "alias": "test-order-new",
        "name": "New Name Diner",
        "review_count": 12,
        "rating": 4.5,
        "price": "$$$",
        "address1": "2 New Ave",
        "categories": [[names["cat_new"], "New"], [names["cat_both"], "Both"]],
        "transactions": [names["tx_new"]],
    }
    # D1 finds it in the later county, D2 in the first one: the city's county moves too.
    _land(D1, later_county, state, old)
    _land(D2, first_county, state, new)
    expected_present = {
        "row": ("New Name Diner", 3, "2 New Ave", names["city"], first_county, D2),
        "categories": {names["cat_new"], names["cat_both"]},
        "transactions": {names["tx_new"]},
        "city_county": (first_county,),
        "holdings": {D1: (3.0, 10), D2: (4.5, 12)},
    }

    with pg_connect("source_db", autocommit=True) as conn:
        normalize_yelp(conn, D2)
    after_d2 = _present(names["business"], names["city"])
    assert after_d2 == {**expected_present, "holdings": {D2: (4.5, 12)}}

    with pg_connect("source_db", autocommit=True) as conn:
        normalize_yelp(conn, D1)  # a backfill of the older day
    assert _present(names["business"], names["city"]) == expected_present

    with pg_connect("source_db", autocommit=True) as conn:
        normalize_yelp(conn, D2)  # the newer day again: nothing to change
        changed = normalize_yelp(conn, D1)  # and the older one again
    assert _present(names["business"], names["city"]) == expected_present
    assert changed["oltp.business"] == 0 and changed["oltp.city"] == 0
    assert changed["oltp.business_category"] == 0 and changed["oltp.business_transaction"] == 0


def test_days_normalized_in_order_reach_the_same_present(two_counties, names):
    """The same two days in calendar order: the present is D2's, as above."""
    state, first_county, later_county = two_counties
    base = {
        "id": names["business"],
        "alias": "test-order",
        "review_count": 5,
        "address1": "1 Main St",
        "city": names["city"],
        "transactions": [],
    }
    _land(
        D1,
        later_county,
        state,
        {
            **base,
            "name": "Before",
            "rating": 2.0,
            "price": None,
            "categories": [[names["cat_old"], "Old"]],
        },
    )
    _land(
        D2,
        first_county,
        state,
        {
            **base,
            "name": "After",
            "rating": 2.5,
            "price": "$$",
            "categories": [[names["cat_new"], "New"]],
        },
    )
    with pg_connect("source_db", autocommit=True) as conn:
        normalize_yelp(conn, D1)
        normalize_yelp(conn, D2)
    present = _present(names["business"], names["city"])
    assert present["row"] == ("After", 2, "1 Main St", names["city"], first_county, D2)
    assert present["categories"] == {names["cat_new"]}
    assert present["city_county"] == (first_county,)
    assert present["holdings"] == {D1: (2.0, 5), D2: (2.5, 5)}


def _business(names, **values) -> dict:
    return {
        "id": names["business"],
        "alias": "test-order",
        "name": "Same Diner",
        "review_count": 5,
        "rating": 3.0,
        "price": "$",
        "address1": "1 Main St",
        "city": names["city"],
        "categories": [[names["cat_old"], "Old"]],
        "transactions": [],
        **values,
    }


def _changed_on(business_id: str):
    with pg_connect("source_db") as conn:
        return conn.execute(
            "select business_name, changed_on from oltp.business where business_id = %s",
            (business_id,),
        ).fetchone()


@pytest.mark.parametrize("order", [(D1, D2), (D2, D1)], ids=["in_order", "backfill"])
def test_a_version_seen_on_several_days_starts_on_the_first_whatever_the_order(
    two_counties, names, order
):
    """The same described values on D1 and D2: the version holds from D1 (changed_on), as
    the days in calendar order say, also when D1 is a backfill normalized after D2."""
    state, first_county, _ = two_counties
    for day in (D1, D2):
        _land(day, first_county, state, _business(names))
    for day in order:
        with pg_connect("source_db", autocommit=True) as conn:
            normalize_yelp(conn, day)
    assert _changed_on(names["business"]) == ("Same Diner", D1)


@pytest.mark.parametrize("order", [(D1, D2, D3), (D1, D3, D2), (D3, D1, D2), (D3, D2, D1)], ids=str)
def test_an_older_day_with_other_values_inside_a_version_cuts_it(two_counties, names, order):
    """D1 and D3 describe the business alike, D2 otherwise: in calendar order the present
    version starts on D3; normalized in any order, changed_on is D3 and the present D3's."""
    state, first_county, _ = two_counties
    _land(D1, first_county, state, _business(names))
    _land(D2, first_county, state, _business(names, name="Other Diner"))
    _land(D3, first_county, state, _business(names))
    for day in order:
        with pg_connect("source_db", autocommit=True) as conn:
            normalize_yelp(conn, day)
    assert _changed_on(names["business"]) == ("Same Diner", D3)
