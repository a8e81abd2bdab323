"""US Census Data API: pure parser of county population by year (PEP) and the state list.

Wire format (README.md): a JSON array of arrays, row 0 the header, every value a string,
suppressed values null; errors as plain text with HTTP 400; 204 for no match; a bad key
can answer an HTML page with status 200.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


class CensusError(RuntimeError):
    """The Census API answered something that is not county data."""


@dataclass(frozen=True)
class CountyPopulation:
    state_fips: str
    county_fips: str  # 5 digits: state + county
    county_name: str
    state_name: str
    date_code: int
    population_year: int | None  # None for date codes 1-2 (census/base, not a yearly estimate)
    population: int | None


@dataclass(frozen=True)
class CensusState:
    state_fips: str
    state_name: str


def population_year(date_code: int) -> int | None:
    """PEP 2019: DATE_CODE 1-2 are the 2010 census/base; 3-12 are July 1 of 2010-2019."""
    if 3 <= date_code <= 12:
        return 2007 + date_code
    if date_code in (1, 2):
        return None
    raise CensusError(f"DATE_CODE {date_code} is outside 1-12 (PEP 2019)")


def check_response(status: int, content_type: str, body: bytes) -> list[list] | None:
    """Turn a raw response into the array of arrays, or raise a clear CensusError.

    Returns None for 204 (no match)."""
    text = body.decode("utf-8", errors="replace")
    if status == 204:
        return None
    if status != 200:
        raise CensusError(f"Census API HTTP {status}: {text.strip()[:300]}")
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
        title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        raise CensusError(
            "Census API answered an HTML page with status 200 "
            f"({title.group(1).strip() if title else 'no title'}): usually an invalid or "
            "missing API key; check the census_api connection password"
        )
    try:
        rows = json.loads(text)
    except ValueError as exc:
        raise CensusError(
            f"Census API body is not valid JSON ({exc}); first bytes: {text[:120]!r}"
        ) from exc
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
        raise CensusError("Census API body is not a JSON array of arrays")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise CensusError(f"Census row {i} has {len(row)} values, header has {width}")
    return rows


def _to_int(value, what: str, row: int) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise CensusError(f"row {row}: {what} {value!r} is not an integer") from exc


def parse_county_population(rows: list[list] | None) -> list[CountyPopulation]:
    if not rows:
        return []
    header = rows[0]
    missing = {"NAME", "POP", "DATE_CODE", "state", "county"} - set(header)
    if missing:
        raise CensusError(f"Census header lacks {sorted(missing)}: {header}")
    idx = {name: header.index(name) for name in header}
    out = []
    for i, row in enumerate(rows[1:], start=1):
        state, county = row[idx["state"]], row[idx["county"]]
        if not (
            isinstance(state, str)
            and re.fullmatch(r"\d{2}", state)
            and isinstance(county, str)
            and re.fullmatch(r"\d{3}", county)
        ):
            raise CensusError(f"row {i}: bad FIPS state={state!r} county={county!r}")
        name = row[idx["NAME"]] or ""
        county_name, _, state_name = name.partition(", ")
        code = _to_int(row[idx["DATE_CODE"]], "DATE_CODE", i)
        if code is None:
            raise CensusError(f"row {i}: DATE_CODE is null")
        out.append(
            CountyPopulation(
                state_fips=state,
                county_fips=state + county,
                county_name=county_name,
                state_name=state_name,
                date_code=code,
                population_year=population_year(code),
                population=_to_int(row[idx["POP"]], "POP", i),
            )
        )
    return out


def parse_states(rows: list[list] | None) -> list[CensusState]:
    if not rows:
        return []
    header = rows[0]
    if "NAME" not in header or "state" not in header:
        raise CensusError(f"Census state header lacks NAME/state: {header}")
    n, s = header.index("NAME"), header.index("state")
    return [CensusState(state_fips=r[s], state_name=r[n]) for r in rows[1:]]
