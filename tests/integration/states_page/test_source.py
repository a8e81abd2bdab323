"""The states page client against the local server, read through the connections that
`make env` exports (make test starts the services)."""

import pytest

from include.sources.states_page import client as states_client
from include.sources.states_page.parser import parse_states_page
from tests.helpers import control

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
