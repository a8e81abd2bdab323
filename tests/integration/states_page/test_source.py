"""The states page client against the local server, read through the connections that
`make env` exports (make test starts the services)."""

import pytest
import requests

from include.sources.states_page import client as states_client
from include.sources.states_page.parser import parse_states_page
from tests.helpers import control, request_counts

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _no_faults(reset_faults):
    """Every test here starts and ends with the source server fault-free."""


def test_states_page_scraped_with_states_and_territories():
    base, path = states_client.from_connection()
    rows = parse_states_page(states_client.fetch_states_page(base, path))
    states = [r for r in rows if r.is_state]
    assert len(states) == 51
    assert len({r.state_code for r in states}) == 51
    assert {r.state_code for r in rows if not r.is_state} == {"AS", "GU", "MP", "PR", "VI"}


def test_states_page_duplicate_code_is_visible_to_the_parser():
    control({"states": "duplicate"})
    base, path = states_client.from_connection()
    codes = [
        r.state_code
        for r in parse_states_page(states_client.fetch_states_page(base, path))
        if r.is_state
    ]
    assert len(codes) == 51 and len(set(codes)) == 50


def test_robots_txt_answering_503_means_the_page_is_not_fetched():
    from include.connections.http import retrying_session
    from include.sources.states_page.parser import StatesPageError
    from include.sources.states_page.settings import USER_AGENT

    control({"robots": "503"})
    base, path = states_client.from_connection()
    session = retrying_session(total=1, backoff=0, user_agent=USER_AGENT)  # one quick retry
    with pytest.raises(StatesPageError, match=r"robots\.txt answered HTTP 503"):
        states_client.fetch_states_page(base, path, session=session)
    counts = request_counts()
    assert counts.get("robots") == 2  # asked, retried once
    assert counts.get("states", 0) == 0  # the page itself was never asked


def test_a_page_without_a_charset_in_its_content_type_is_decoded_by_its_meta_charset():
    control({"states": "no_charset"})
    base, path = states_client.from_connection()
    host = base.rstrip("/")
    raw = requests.get(f"{host}{path}", timeout=10)
    assert "charset" not in raw.headers["Content-Type"]  # the fault's premise
    assert "Guåhån".encode() in raw.content and b'<meta charset="utf-8">' in raw.content
    rows = parse_states_page(states_client.fetch_states_page(base, path))
    territories = {r.state_code: r.state_name for r in rows if not r.is_state}
    assert territories["GU"] == "Guåhån (Guam)"
    assert territories["AS"] == "Amerika Sāmoa (American Samoa)"
