from pathlib import Path

import pytest

from include.sources.states_page.parser import StatesPageError, parse_states_page

FIXTURES = Path(__file__).parents[2] / "fixtures"


def test_states_and_territories_kept_apart():
    rows = parse_states_page((FIXTURES / "states_page.html").read_text(encoding="utf-8"))
    assert [(r.state_name, r.state_code, r.is_state) for r in rows] == [
        ("Alabama", "AL", True),
        ("District of Columbia", "DC", True),  # whitespace inside the cell is normalized
        ("Puerto Rico", "PR", False),
    ]
    assert [r.row_num for r in rows] == [1, 2, 3]


def test_error_page_with_200_is_an_error():
    with pytest.raises(StatesPageError, match="no <table"):
        parse_states_page("<html><body><h1>Service unavailable</h1></body></html>")


def test_row_with_one_cell_is_an_error():
    html = '<table class="table table-hover"><tbody><tr><td>Alabama</td></tr></tbody></table>'
    with pytest.raises(StatesPageError, match="1 cell"):
        parse_states_page(html)


def test_empty_tables_are_an_error():
    with pytest.raises(StatesPageError, match="empty"):
        parse_states_page('<table class="table table-hover"><tbody></tbody></table>')
