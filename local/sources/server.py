"""One local HTTP server standing in for every source (each source's data is its own module
here: census.py, states_page.py, yelp.py, amplitude.py).

It speaks the real wire formats (each source's include/sources/<name>/README.md):

* ``GET /data/{vintage}/pep/population?get=NAME,POP,DATE_CODE&for=county:*&in=state:*&key=K``
  answers a JSON array of arrays whose row 0 is the header; every value is a string and
  suppressed values are null. Unknown variables get HTTP 400 with a plain-text
  ``error: unknown variable 'X'``; no match gets 204; a wrong key gets an HTML page
  with status 200, as the real API does.
* ``GET /us-states/`` answers a 50states.com-style page: one ``table table-hover`` of
  the 50 states and DC, and a second one of territories.
* ``GET /robots.txt`` (disallows ``/private/`` only).
* ``GET /v3/...``: Yelp Fusion, see local/sources/yelp.py.
* ``GET /api/2/export``: the Amplitude Export API, see local/sources/amplitude.py.

Data is deterministic for a given ``--counties-per-state`` (scale). Tests inject faults
through ``POST /_control`` with a JSON body such as ``{"census": "500"}``,
``{"census": "html"}``, the states page keys of local/sources/states_page.py
(``{"states": "duplicate"}``, ``{"robots": "503"}``...), the Yelp keys of
local/sources/yelp.py (``{"yelp_version": 2}``...), the Amplitude key
(``{"amplitude": "400"}``...), a delay before answering one source
(``{"delay": {"census": 20}}``: seconds, at most 120; keys census, states, robots, yelp,
amplitude) or ``{}`` to reset. ``GET /_control`` reports the faults
and the request counts (``census``, ``states``, ``robots``, ``yelp``, ``yelp_search``,
``yelp_reviews``...).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from local.sources import amplitude as amplitude_server
from local.sources import census
from local.sources import states_page as states_server
from local.sources import yelp as yelp_server


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


DELAY_SOURCES = ("census", "states", "robots", "yelp", "amplitude")
MAX_DELAY_SECONDS = 120


def _validate_delay(delay) -> str | None:
    if delay is None:
        return None
    if not isinstance(delay, dict) or not set(delay) <= set(DELAY_SOURCES):
        return f"delay must map some of {DELAY_SOURCES} to seconds"
    for seconds in delay.values():
        if not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_DELAY_SECONDS:
            return f"a delay is 0 to {MAX_DELAY_SECONDS} seconds"
    return None


def _source_of(path: str) -> str | None:
    if path == "/robots.txt":
        return "robots"
    if path.rstrip("/") == "/us-states":
        return "states"
    if path.startswith("/data/"):
        return "census"
    if path.startswith("/v3/"):
        return "yelp"
    if path == "/api/2/export":
        return "amplitude"
    return None


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
            problem = (
                _validate_delay(faults.get("delay"))
                or yelp_server.validate_control(faults)
                or amplitude_server.validate_control(faults)
                or states_server.validate_control(faults)
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
            delay = (state.faults.get("delay") or {}).get(_source_of(url.path))
            if delay:
                time.sleep(delay)
            if url.path == "/robots.txt":
                self._count("robots")
                fault = state.faults.get("robots")
                if fault:
                    return self._send(
                        int(fault), f"<html><body>HTTP {fault}</body></html>", "text/html"
                    )
                return self._send(200, states_server.ROBOTS, "text/plain")
            if url.path.rstrip("/") == "/us-states":
                self._count("states")
                fault = state.faults.get("states")
                if fault == "500":
                    return self._send(
                        500, "<html><body>Internal Server Error</body></html>", "text/html"
                    )
                page = states_server.states_page(
                    duplicate=fault == "duplicate", native_names=fault == "no_charset"
                )
                ctype = "text/html" if fault == "no_charset" else "text/html; charset=utf-8"
                return self._send(200, page.encode("utf-8"), ctype)
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
                return self._send(200, census.INVALID_KEY_PAGE, "text/html;charset=utf-8")
            if len(parts) != 4 or parts[2:] != ["pep", "population"]:
                return self._send(
                    404, f"error: unknown dataset '{'/'.join(parts[2:])}'", "text/plain"
                )
            get = [v for v in params.get("get", "").split(",") if v]
            if not get:
                return self._send(400, "error: missing 'get' parameter", "text/plain")
            for var in get:
                if var not in census.VARIABLES:
                    return self._send(400, f"error: unknown variable '{var}'", "text/plain")
            for_ = params.get("for", "")
            if not for_.startswith(("county:", "state:")):
                return self._send(
                    400, "error: unknown/unsupported geography hierarchy", "text/plain"
                )
            rows = census.census_rows(state.counties_per_state, get, for_, params.get("in"))
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
        census.counties(args.counties_per_state),
        {fips: code for fips, code, _name in census.CENSUS_STATES},
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
