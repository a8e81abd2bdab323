"""End to end to the marts: values computed independently from the source server's data."""

import re
import uuid
from datetime import date

import pytest
import requests

from include.connections import get_connection, pg_connect
from tests.helpers import failures, run_day

pytestmark = pytest.mark.integration
DAY = date(2024, 1, 15)


def _census(params):
    conn = get_connection("census_api")
    return requests.get(
        f"{conn.host}/data/2019/pep/population", params={**params, "key": conn.password}, timeout=30
    ).json()


def _marts(conn):
    return {
        t: conn.execute(
            f"select md5(string_agg(x::text, ',' order by x::text)), count(*) from marts.{t} x"
        ).fetchone()
        for t in ("dim_state", "dim_county", "dim_date", "fct_county_population")
    }


def test_marts_match_the_source_and_a_rerun_changes_nothing(capsys):
    run_id = f"test-{uuid.uuid4()}"
    outcome = run_day(DAY, run_id=run_id)
    assert not failures(outcome), failures(outcome)

    counties = _census({"get": "NAME,POP,DATE_CODE", "for": "county:*", "in": "state:*"})[1:]
    states = _census({"get": "NAME", "for": "state:*"})[1:]
    pop_2019 = {r[3] + r[4]: int(r[1]) for r in counties if r[2] == "12"}
    fips_by_name = {name: fips for name, fips in states}

    with pg_connect("warehouse_db") as conn:
        dim_state = {
            r[0]: r[1:]
            for r in conn.execute(
                "select state_code, state_fips, state_name, is_state from marts.dim_state"
            )
        }
        assert len(dim_state) == 56
        assert sum(1 for v in dim_state.values() if v[2]) == 51
        assert dim_state["PR"] == ("72", "Puerto Rico", False)
        assert dim_state["GU"][0] is None  # a territory the Census PEP does not cover
        assert dim_state["NM"][0] == fips_by_name["New Mexico"]

        assert conn.execute("select count(*) from marts.dim_county").fetchone()[0] == len(pop_2019)
        assert conn.execute(
            "select s.state_code from marts.dim_county c join marts.dim_state s using (state_key)"
            " where c.county_name = 'Doña Ana County'"
        ).fetchone() == ("NM",)
        got = dict(
            conn.execute(
                "select c.county_fips, f.population from marts.fct_county_population f "
                "join marts.dim_county c using (county_key) where f.population_year = 2019"
            )
        )
        assert got == pop_2019
        before = _marts(conn)

    with pg_connect("source_db") as conn:
        dbt_rows = conn.execute(
            "select status, count(*) from quality.check_results where "
            "run_id = %s and check_name like 'dbt:%%' group by status",
            (run_id,),
        ).fetchall()
    assert dict(dbt_rows).get("pass", 0) >= 20 and set(dict(dbt_rows)) == {"pass"}

    run_day(DAY, run_id=f"test-{uuid.uuid4()}")
    with pg_connect("warehouse_db") as conn:
        assert _marts(conn) == before

    # The demo's summary reads both databases and names what was built.
    from local.run import summary

    capsys.readouterr()
    summary(run_id)
    printed = capsys.readouterr().out
    assert re.search(rf"marts\.dim_county\s+{len(pop_2019)} rows", printed), printed
    assert "marts.dim_state" in printed and "warehouse          pass" in printed
