"""Local stand-in for the US states page: a 50states.com-style page with one
``table table-hover`` of the 50 states and DC and a second one of territories, served by
server.py at ``/us-states/``, and its ``/robots.txt``. Faults (``POST /_control``):

* ``{"states": "duplicate"}`` lists Alaska with Alabama's code;
* ``{"states": "500"}`` answers an HTML 500 page;
* ``{"states": "no_charset"}`` serves the page as UTF-8 bytes with a bare ``text/html``
  Content-Type (no charset; the page's ``<meta charset="utf-8">`` says it), two territories
  under their native names (``NATIVE_NAMES``: the real page has no non-ASCII name);
* ``{"robots": "503"}`` (any 4xx/5xx status) answers robots.txt with that status.
"""

from __future__ import annotations

import html
import re

# (fips, postal code, name): the 50 states and DC, then the territories.
STATES = [
    ("01", "AL", "Alabama"),
    ("02", "AK", "Alaska"),
    ("04", "AZ", "Arizona"),
    ("05", "AR", "Arkansas"),
    ("06", "CA", "California"),
    ("08", "CO", "Colorado"),
    ("09", "CT", "Connecticut"),
    ("10", "DE", "Delaware"),
    ("11", "DC", "District of Columbia"),
    ("12", "FL", "Florida"),
    ("13", "GA", "Georgia"),
    ("15", "HI", "Hawaii"),
    ("16", "ID", "Idaho"),
    ("17", "IL", "Illinois"),
    ("18", "IN", "Indiana"),
    ("19", "IA", "Iowa"),
    ("20", "KS", "Kansas"),
    ("21", "KY", "Kentucky"),
    ("22", "LA", "Louisiana"),
    ("23", "ME", "Maine"),
    ("24", "MD", "Maryland"),
    ("25", "MA", "Massachusetts"),
    ("26", "MI", "Michigan"),
    ("27", "MN", "Minnesota"),
    ("28", "MS", "Mississippi"),
    ("29", "MO", "Missouri"),
    ("30", "MT", "Montana"),
    ("31", "NE", "Nebraska"),
    ("32", "NV", "Nevada"),
    ("33", "NH", "New Hampshire"),
    ("34", "NJ", "New Jersey"),
    ("35", "NM", "New Mexico"),
    ("36", "NY", "New York"),
    ("37", "NC", "North Carolina"),
    ("38", "ND", "North Dakota"),
    ("39", "OH", "Ohio"),
    ("40", "OK", "Oklahoma"),
    ("41", "OR", "Oregon"),
    ("42", "PA", "Pennsylvania"),
    ("44", "RI", "Rhode Island"),
    ("45", "SC", "South Carolina"),
    ("46", "SD", "South Dakota"),
    ("47", "TN", "Tennessee"),
    ("48", "TX", "Texas"),
    ("49", "UT", "Utah"),
    ("50", "VT", "Vermont"),
    ("51", "VA", "Virginia"),
    ("53", "WA", "Washington"),
    ("54", "WV", "West Virginia"),
    ("55", "WI", "Wisconsin"),
    ("56", "WY", "Wyoming"),
]
TERRITORIES = [
    ("60", "AS", "American Samoa"),
    ("66", "GU", "Guam"),
    ("69", "MP", "Northern Mariana Islands"),
    ("72", "PR", "Puerto Rico"),
    ("78", "VI", "U.S. Virgin Islands"),
]


# The no_charset fault's territory names: å is in Latin-1, ā is not.
NATIVE_NAMES = {"GU": "Guåhån (Guam)", "AS": "Amerika Sāmoa (American Samoa)"}
ROBOTS = "User-agent: *\nDisallow: /private/\n"
STATES_FAULTS = ("duplicate", "500", "no_charset")


def validate_control(payload: dict) -> str | None:
    """The reason a `_control` body's states page keys are unusable, or None."""
    states = payload.get("states")
    if states is not None and states not in STATES_FAULTS:
        return f"states fault must be one of {', '.join(STATES_FAULTS)}, got {states!r}"
    robots = payload.get("robots")
    if robots is not None and not (isinstance(robots, str) and re.fullmatch(r"[45]\d\d", robots)):
        return f'robots fault must be an HTTP error status such as "503", got {robots!r}'
    return None


def states_page(duplicate: bool, native_names: bool = False) -> str:
    def table(rows):
        body = "\n".join(
            f'<tr><td><a href="/{html.escape(n.lower().replace(" ", "-"))}.htm">'
            f"{html.escape(n)}</a></td><td>{c}</td></tr>"
            for _f, c, n in rows
        )
        return (
            '<table class="table table-hover"><thead><tr><th>State</th>'
            "<th>Abbreviation</th></tr></thead>"
            f"<tbody>\n{body}\n</tbody></table>"
        )

    states = list(STATES)
    territories = [(f, c, NATIVE_NAMES.get(c, n) if native_names else n) for f, c, n in TERRITORIES]
    if duplicate:
        # A data-entry slip on the page: Alaska listed with Alabama's code.
        states[1] = ("02", "AL", "Alaska")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>US States</title></head>'
        "<body><h1>List of US States</h1><h2>States</h2>"
        f"{table(states)}<h2>US Territories</h2>{table(territories)}</body></html>"
    )
