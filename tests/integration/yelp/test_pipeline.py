"""Yelp end to end on the real local services: two consecutive days where businesses change
price and rating (SCD2 in dim_business, holdings joined to the right version), and the
quota: a run stopped by ACCESS_LIMIT_REACHED ends successfully with partial data, the next
run completes, and the totals equal one uninterrupted run."""

import re
import uuid
from datetime import date

import pytest
import requests

from include.connections import get_connection, pg_connect
from tests.helpers import YELP_TABLES, control, failures, reset_yelp, run_day

pytestmark = pytest.mark.integration
DAY1, DAY2 = date(2024, 6, 1), date(2024, 6, 2)


@pytest.fixture(autouse=True)
def _clean():
    control({})
    reset_yelp()
    yield
    control({})


def _yelp():
    conn = get_connection("yelp_api")
    return conn.host, {"Authorization": f"Bearer {conn.password}"}


def _locations():
    with pg_connect("source_db") as conn:
        return [
            r[0]
            for r in conn.execute(
                "select c.county_name || ', ' || s.state_code from oltp.county c "
                "join oltp.census_state cs using (state_fips) "
                "join oltp.state s on lower(s.state_name) = lower(cs.state_name)"
            )
        ]


def _wire_businesses(locations) -> dict[str, dict]:
    """Every business the server returns for the counties, straight from the wire (no
    project code): paged with limit 50 until the total or the cap's 400."""
    host, headers = _yelp()
    found = {}
    for location in locations:
        offset, limit = 0, 50
        while True:
            r = requests.get(
                f"{host}/v3/businesses/search",
                headers=headers,
                timeout=10,
                params={"location": location, "limit": limit, "offset": offset},
            )
            if r.status_code == 400:
                # Over the cap: the error says "limit+offset must be <= N"; ask for the rest.
                cap = int(re.search(r"<= (\d+)", r.json()["error"]["description"])[1])
                if limit == 50 and cap > offset:
                    limit = cap - offset
                    continue
                break
            r.raise_for_status()
            body = r.json()
            for b in body["businesses"]:
                found[b["id"]] = b
            offset += len(body["businesses"])
            if not body["businesses"] or offset >= body["total"]:
                break
    return found


def _resolve(business_id: str) -> str:
    host, headers = _yelp()
    r = requests.get(
        f"{host}/v3/businesses/{business_id}/reviews",
        headers=headers,
        timeout=10,
        allow_redirects=False,
    )
    if r.status_code == 301:
        return r.json()["error"]["new_business_id"]
    return business_id


def _marts():
    with pg_connect("warehouse_db") as conn:
        return {
            t: conn.execute(
                f"select md5(string_agg(x::text, ',' order by x::text)), count(*) from marts.{t} x"
            ).fetchone()
            for t in (
                "dim_business",
                "dim_city",
                "bridge_business_category",
                "bridge_business_transaction",
                "dim_user",
                "fct_review",
                "fct_business_holding",
            )
        }


def test_two_days_version_dim_business_and_join_holdings_to_the_right_version():
    first_id = f"test-yelp-{uuid.uuid4()}"
    first = run_day(DAY1, run_id=first_id)
    assert not failures(first), failures(first)
    with pg_connect("source_db") as conn:
        statuses = dict(
            conn.execute(
                "select check_name, status from quality.check_results where run_id = %s and "
                "dag_id = 'yelp_businesses'",
                (first_id,),
            ).fetchall()
        )
    assert statuses["yelp_day_complete"] == "pass"
    assert statuses["yelp_rating_half_steps_1_to_5"] == "pass"
    assert set(statuses.values()) == {"pass"}, statuses
    v1 = _wire_businesses(_locations())
    control({"yelp_version": 2})
    v2 = _wire_businesses(_locations())
    second = run_day(DAY2, run_id=f"test-yelp-{uuid.uuid4()}")
    assert not failures(second), failures(second)

    moved = {i: _resolve(i) for i in v2}
    expected_ids = set(moved.values())
    repriced = {i for i in v2 if v1[i].get("price") != v2[i].get("price")}
    assert repriced, "the server's version 2 must change some prices"

    def level(b):
        return len(b["price"]) if b.get("price") else None

    with pg_connect("warehouse_db") as conn:
        current = dict(
            conn.execute("select business_id, price_level from marts.dim_business where is_current")
        )
        assert set(current) == expected_ids  # one business per id, however many searches
        for old_id in repriced:
            bid = moved[old_id]
            versions = conn.execute(
                "select business_key, price_level, valid_from, valid_to, is_current "
                "from marts.dim_business where business_id = %s order by valid_from",
                (bid,),
            ).fetchall()
            assert [v[1] for v in versions] == [level(v1[old_id]), level(v2[old_id])], bid
            # the first version reaches back (backfills of earlier days find it)
            assert [v[2:] for v in versions] == [
                (date(1900, 1, 1), DAY2, False),
                (DAY2, None, True),
            ]
            holdings = dict(
                conn.execute(
                    "select holding_date, business_key from marts.fct_business_holding "
                    "where business_id = %s",
                    (bid,),
                ).fetchall()
            )
            assert holdings == {DAY1: versions[0][0], DAY2: versions[1][0]}
            ratings = dict(
                conn.execute(
                    "select holding_date, rating from marts.fct_business_holding "
                    "where business_id = %s",
                    (bid,),
                ).fetchall()
            )
            assert {d: float(r) for d, r in ratings.items()} == {
                DAY1: v1[old_id]["rating"],
                DAY2: v2[old_id]["rating"],
            }
        assert (
            conn.execute(
                "select count(*) from marts.fct_business_holding where business_key is null"
            ).fetchone()[0]
            == 0
        )
        before = _marts()

    rerun = run_day(DAY2, run_id=f"test-yelp-{uuid.uuid4()}")
    assert not failures(rerun), failures(rerun)
    assert rerun["yelp_businesses"].fetched.calls == 0  # the day's queue is done: no API calls
    assert _marts() == before


def _oltp_fingerprint():
    """Row count and content hash of each Yelp OLTP table, load timestamps left out."""
    row = "(to_jsonb(o) - 'updated_at' - 'changed_on')::text"
    with pg_connect("source_db") as conn:
        return {
            t: conn.execute(
                f"select count(*), md5(string_agg({row}, ',' order by {row})) from oltp.{t} o"
            ).fetchone()
            for t in YELP_TABLES
        }


def test_quota_stop_ends_the_run_with_partial_data_and_the_next_run_completes_it():
    day = date(2024, 6, 10)
    control({"yelp_daily_quota": 120})
    run_id = f"test-yelp-{uuid.uuid4()}"
    partial = run_day(day, run_id=run_id)
    assert not failures(partial), failures(partial)
    assert partial["yelp_businesses"].fetched.stopped  # ACCESS_LIMIT_REACHED ended it gracefully
    assert sum(partial["yelp_businesses"].fetched.pending.values()) > 0
    with pg_connect("source_db") as conn:
        row = conn.execute(
            "select status, observed from quality.check_results where "
            "run_id = %s and check_name = 'yelp_day_complete'",
            (run_id,),
        ).fetchone()
    assert row[0] == "warn" and int(row[1]) > 0

    control({})  # the quota resets (midnight UTC)
    resumed = run_day(day, run_id=f"test-yelp-{uuid.uuid4()}")
    assert not failures(resumed), failures(resumed)
    assert resumed["yelp_businesses"].fetched.pending == {}
    stopped_then_resumed = _oltp_fingerprint()
    calls_split = (
        partial["yelp_businesses"].fetched.calls + resumed["yelp_businesses"].fetched.calls
    )

    reset_yelp()
    single = run_day(day, run_id=f"test-yelp-{uuid.uuid4()}")
    assert not failures(single), failures(single)
    assert _oltp_fingerprint() == stopped_then_resumed
    with pg_connect("source_db") as conn:
        dupes = conn.execute(
            "select count(*) - count(distinct (county_fips, business_id)) "
            "from raw.yelp_search where logical_date = %s",
            (day,),
        ).fetchone()
    assert dupes == (0,)
    # Resuming re-asks at most the page the quota interrupted, per interrupted item.
    assert calls_split <= single["yelp_businesses"].fetched.calls + 2
