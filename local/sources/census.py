"""Local stand-in for the US Census Data API (PEP 2019 county population), served by
server.py at ``/data/{vintage}/pep/population``: deterministic data for a given number of
counties per state, unicode county names, one suppressed (null) value."""

from __future__ import annotations

import hashlib

from local.sources.states_page import STATES, TERRITORIES

# Census PEP covers the states, DC and Puerto Rico (its municipios are county equivalents).
CENSUS_STATES = STATES + [t for t in TERRITORIES if t[1] == "PR"]

# Real names with non-ASCII characters, to keep unicode honest end to end.
SPECIAL_COUNTIES = {"35": ["Doña Ana County"], "72": ["Añasco Municipio", "Mayagüez Municipio"]}
NAME_PARTS = [
    "Cedar",
    "Lake",
    "Pine",
    "Grant",
    "Marion",
    "Union",
    "Clay",
    "Jackson",
    "Franklin",
    "Madison",
    "Washington",
    "Lincoln",
    "Warren",
    "Greene",
    "Monroe",
]
DATE_CODES = range(1, 13)  # 1-2: census/base 2010, 3-12: July 1 of 2010-2019
VARIABLES = {"NAME", "POP", "DATE_CODE", "DATE_DESC", "GEO_ID"}


def _h(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def counties(counties_per_state: int) -> list[tuple[str, str, str]]:
    """(state fips, county fips 3 digits, county name) for every county, deterministic."""
    out = []
    for fips, _code, _name in CENSUS_STATES:
        names = list(SPECIAL_COUNTIES.get(fips, []))
        i = 0
        while len(names) < counties_per_state:
            suffix = "Municipio" if fips == "72" else "County"
            base = NAME_PARTS[_h(fips, i) % len(NAME_PARTS)]
            candidate = f"{base} {suffix}" if i < len(NAME_PARTS) else f"{base} {i} {suffix}"
            if candidate not in names:
                names.append(candidate)
            i += 1
        for n, cname in enumerate(names[:counties_per_state]):
            out.append((fips, f"{2 * n + 1:03d}", cname))
    return out


def population(state: str, county: str, date_code: int) -> int | None:
    """Deterministic population; one county's 2010 estimate is suppressed (null)."""
    if state == "01" and county == "001" and date_code == 3:
        return None
    base = 1_000 + _h(state, county) % 900_000
    return base + (date_code - 1) * (_h(state, county, "growth") % 500)


def date_desc(code: int) -> str:
    if code == 1:
        return "4/1/2010 Census population"
    if code == 2:
        return "4/1/2010 population estimates base"
    return f"7/1/{2007 + code} population estimate"


def census_rows(counties_per_state: int, get: list[str], for_: str, in_: str | None) -> list[list]:
    geo_kind, _, geo_val = for_.partition(":")
    state_filter = None
    if in_:
        _, _, state_filter = in_.partition(":")
    if geo_kind == "state":
        header = get + ["state"]
        rows = []
        for fips, _code, name in CENSUS_STATES:
            if geo_val not in ("*", fips):
                continue
            values = {"NAME": name, "GEO_ID": f"0400000US{fips}"}
            rows.append([values.get(v) for v in get] + [fips])
        return [header] + rows
    header = get + ["state", "county"]
    rows = []
    state_names = {f: n for f, _c, n in CENSUS_STATES}
    for sfips, cfips, cname in counties(counties_per_state):
        if state_filter not in (None, "*", sfips) or geo_val not in ("*", cfips):
            continue
        codes = DATE_CODES if "DATE_CODE" in get or "POP" in get else [12]
        for code in codes:
            pop = population(sfips, cfips, code)
            values = {
                "NAME": f"{cname}, {state_names[sfips]}",
                "POP": None if pop is None else str(pop),
                "DATE_CODE": str(code),
                "DATE_DESC": date_desc(code),
                "GEO_ID": f"0500000US{sfips}{cfips}",
            }
            rows.append([values.get(v) for v in get] + [sfips, cfips])
    return [header] + rows


INVALID_KEY_PAGE = (
    "<html><head><title>Invalid Key</title></head><body><h1>Invalid Key</h1>"
    "<p>A valid <em>key</em> must be included with each data API request.</p>"
    "</body></html>"
)
