"""Pure parser of a 50states.com-style page of US state names and postal codes."""

from __future__ import annotations

import re
from dataclasses import dataclass


class StatesPageError(RuntimeError):
    """The page does not hold the expected tables."""


@dataclass(frozen=True)
class StateRow:
    state_name: str
    state_code: str
    is_state: bool  # False for territories
    row_num: int


def parse_states_page(html: str) -> list[StateRow]:
    """Rows of every `table.table-hover`: the first table is states (and DC); a table
    headed by a heading mentioning territories (or any later table) is territories."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    tables = soup.select("table.table-hover")
    if not tables:
        raise StatesPageError(
            "no <table class='table table-hover'> on the page "
            "(layout changed, or an error page answered with status 200)"
        )
    rows: list[StateRow] = []
    for t_index, table in enumerate(tables):
        heading = table.find_previous(re.compile(r"^h[1-6]$"))
        is_territory = t_index > 0 or bool(heading and "territor" in heading.get_text().lower())
        body = table.find("tbody") or table
        for tr in body.find_all("tr"):
            cells = tr.find_all("td")
            if not cells:
                continue
            if len(cells) < 2:
                raise StatesPageError(f"table {t_index} row has {len(cells)} cell(s), need 2")
            name = " ".join(cells[0].get_text().split())
            code = cells[1].get_text().strip()
            rows.append(
                StateRow(
                    state_name=name,
                    state_code=code,
                    is_state=not is_territory,
                    row_num=len(rows) + 1,
                )
            )
    if not rows:
        raise StatesPageError("the states tables are empty")
    return rows
