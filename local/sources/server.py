"""Local stand-in for the US Census Data API, the US states web page and Yelp Fusion.

It speaks the real wire formats (each source's include/sources/<name>/README.md):

* ``GET /data/{vintage}/pep/population?get=NAME,POP,DATE_CODE&for=county:*&in=state:*&key=K``
  answers a JSON array of arrays whose row 0 is the header; every value is a string and
  suppressed values are null. Unknown variables get HTTP 400 with a plain-text
  ``error: unknown variable 'X'``; no match gets 204; a wrong key gets an HTML page
  with status 200, as the real API does.
* ``GET /us-states/`` answers a 50states.com-style page: one ``table table-hover`` of
  the 50 states and DC, and a second one of territories.
* ``GET /robots.txt``.
* ``GET /v3/...``: Yelp Fusion, see local/sources/yelp.py.
* ``GET /api/2/export``: the Amplitude Export API, see local/sources/amplitude.py.

Data is deterministic for a given ``--counties-per-state`` (scale). Tests inject faults
through ``POST /_control`` with a JSON body such as ``{"census": "500"}``,
``{"census": "html"}``, ``{"states": "duplicate"}``, the Yelp keys of local/sources/yelp.py
(``{"yelp_version": 2}``...), the Amplitude key (``{"amplitude": "400"}``...) or ``{}`` to
reset. ``GET /_control`` reports the faults and the request counts (``census``,
``states``, ``yelp``, ``yelp_search``, ``yelp_reviews``...).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from local.sources import amplitude as amplitude_server
from local.sources import yelp as yelp_server

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


class SourceState:
    def __init__(
        self,
        counties_per_state: int,
        api_key: str,
        yelp: yelp_server.YelpService | None = None,
        amplitude: amplitude_server.AmplitudeService | None = None,
    ):
        self.counties_per_state = counties_per_state
        self.api_key = api_key
        self.yelp = yelp
        self.amplitude = amplitude
        self.faults: dict[str, object] = {}
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}


def census_rows(state: SourceState, get: list[str], for_: str, in_: str | None) -> list[list]:
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
    for sfips, cfips, cname in counties(state.counties_per_state):
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


def states_page(duplicate: bool) -> str:
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
    if duplicate:
        # A data-entry slip on the page: Alaska listed with Alabama's code.
        states[1] = ("02", "AL", "Alaska")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>US States</title></head>'
        "<body><h1>List of US States</h1><h2>States</h2>"
        f"{table(states)}<h2>US Territories</h2>{table(TERRITORIES)}</body></html>"
    )


INVALID_KEY_PAGE = (
    "<html><head><title>Invalid Key</title></head><body><h1>Invalid Key</h1>"
    "<p>A valid <em>key</em> must be included with each data API request.</p>"
    "</body></html>"
)


def make_handler(state: SourceState):
    class Handler(BaseHTTPRequestHandler):
        server_version = "LocalSources/1.0"

        def log_message(self, fmt, *args):  # keep keys out of logs: log the path only
            pass

        def _send(
            self,
            status: int,
            body: bytes | str,
            ctype: str = "application/json",
            headers: dict | None = None,
        ) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if status != 204:
                self.wfile.write(data)

        def _count(self, what: str) -> None:
            with state.lock:
                state.requests[what] = state.requests.get(what, 0) + 1

        def do_POST(self):
            if self.path != "/_control":
                return self._send(404, "not found", "text/plain")
            length = int(self.headers.get("Content-Length") or 0)
            try:
                faults = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._send(400, json.dumps({"error": "body is not JSON"}))
            if not isinstance(faults, dict):
                return self._send(400, json.dumps({"error": "body must be a JSON object"}))
            problem = yelp_server.validate_control(faults) or amplitude_server.validate_control(
                faults
            )
            if problem:
                return self._send(400, json.dumps({"error": problem}))
            with state.lock:
                state.faults = dict(faults)
                state.requests = {}
            return self._send(200, json.dumps({"faults": state.faults}))

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/_control":
                return self._send(
                    200, json.dumps({"faults": state.faults, "requests": state.requests})
                )
            if url.path == "/robots.txt":
                return self._send(200, "User-agent: *\nDisallow: /private/\n", "text/plain")
            if url.path.rstrip("/") == "/us-states":
                self._count("states")
                fault = state.faults.get("states")
                if fault == "500":
                    return self._send(
                        500, "<html><body>Internal Server Error</body></html>", "text/html"
                    )
                return self._send(
                    200, states_page(duplicate=fault == "duplicate"), "text/html; charset=utf-8"
                )
            if url.path.startswith("/data/"):
                return self._census(url)
            if url.path.startswith("/v3/") and state.yelp is not None:
                status, body, headers = state.yelp.respond(
                    state, url.path, url.query, self.headers.get("Authorization")
                )
                return self._send(status, yelp_server.encode(body), headers=headers)
            if url.path == "/api/2/export" and state.amplitude is not None:
                status, body, headers, ctype = state.amplitude.respond(
                    state, url.query, self.headers.get("Authorization")
                )
                return self._send(status, body, ctype, headers=headers)
            return self._send(404, "<html><body>Not Found</body></html>", "text/html")

        def _census(self, url):
            self._count("census")
            fault = state.faults.get("census")
            if fault == "500":
                return self._send(500, "Internal Server Error", "text/plain")
            parts = url.path.strip("/").split("/")
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            if fault == "html" or params.get("key") != state.api_key:
                return self._send(200, INVALID_KEY_PAGE, "text/html;charset=utf-8")
            if len(parts) != 4 or parts[2:] != ["pep", "population"]:
                return self._send(
                    404, f"error: unknown dataset '{'/'.join(parts[2:])}'", "text/plain"
                )
            get = [v for v in params.get("get", "").split(",") if v]
            if not get:
                return self._send(400, "error: missing 'get' parameter", "text/plain")
            for var in get:
                if var not in VARIABLES:
                    return self._send(400, f"error: unknown variable '{var}'", "text/plain")
            for_ = params.get("for", "")
            if not for_.startswith(("county:", "state:")):
                return self._send(
                    400, "error: unknown/unsupported geography hierarchy", "text/plain"
                )
            rows = census_rows(state, get, for_, params.get("in"))
            if len(rows) == 1:
                return self._send(204, b"")
            if fault == "truncated":
                return self._send(200, json.dumps(rows)[:-40])
            # The real API writes one row per line.
            body = "[" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "]"
            return self._send(200, body)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=58080)
    parser.add_argument("--counties-per-state", type=int, default=5)
    parser.add_argument("--census-key", default="local-census-key")
    parser.add_argument("--yelp-key", default="local-yelp-key")
    parser.add_argument(
        "--yelp-per-county",
        type=int,
        default=yelp_server.DEFAULT_PER_COUNTY,
        help="businesses of each county (but the big county)",
    )
    parser.add_argument(
        "--yelp-big-county-size",
        type=int,
        default=yelp_server.DEFAULT_BIG_COUNTY_SIZE,
        help="businesses of the first California county (above the cap)",
    )
    parser.add_argument(
        "--yelp-cap",
        type=int,
        default=yelp_server.DEFAULT_CAP,
        help="search results reachable through offset+limit",
    )
    parser.add_argument("--yelp-daily-limit", type=int, default=yelp_server.DEFAULT_DAILY_LIMIT)
    parser.add_argument("--amplitude-key", default="local-amplitude-key")
    parser.add_argument("--amplitude-secret", default="local-amplitude-secret")
    args = parser.parse_args()
    world = yelp_server.YelpWorld(
        counties(args.counties_per_state),
        {fips: code for fips, code, _name in CENSUS_STATES},
        args.yelp_per_county,
        args.yelp_big_county_size,
    )
    yelp = yelp_server.YelpService(world, args.yelp_key, args.yelp_cap, args.yelp_daily_limit)
    amplitude = amplitude_server.AmplitudeService(args.amplitude_key, args.amplitude_secret)
    state = SourceState(args.counties_per_state, args.census_key, yelp, amplitude)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    server.serve_forever()


if __name__ == "__main__":
    main()
