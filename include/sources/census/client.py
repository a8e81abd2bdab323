"""US Census Data API client, built from the `census_api` connection (host = base URL,
password = API key, extra `vintage`)."""

from __future__ import annotations

from include.sources.census.parser import (
    CensusState,
    CountyPopulation,
    check_response,
    parse_county_population,
    parse_states,
)
from include.sources.census.settings import COUNTY_VARIABLES, DEFAULT_BASE_URL, DEFAULT_VINTAGE


def from_connection(conn_id: str = "census_api", **kwargs) -> CensusClient:
    from include.connections import get_connection

    conn = get_connection(conn_id)
    return CensusClient(
        base_url=conn.host,
        api_key=conn.password,
        vintage=str(conn.extra_dejson.get("vintage", DEFAULT_VINTAGE)),
        **kwargs,
    )


# The two calls a day needs, by name (also the names of their archived answers).
QUERIES: dict[str, dict[str, str]] = {
    "county_population": {"get": ",".join(COUNTY_VARIABLES), "for": "county:*", "in": "state:*"},
    "states": {"get": "NAME", "for": "state:*"},
}


class CensusClient:
    """Reads base URL and key from the `census_api` connection (host, password)."""

    def __init__(
        self, base_url: str, api_key: str | None, vintage: str = DEFAULT_VINTAGE, session=None
    ):
        from include.connections.http import retrying_session

        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key
        self.vintage = vintage
        self.session = session or retrying_session()

    def response(self, query: str) -> tuple[int, str, bytes]:
        """(HTTP status, Content-Type, body) of one of QUERIES, as received, after
        `check_response` accepted it (a clear CensusError otherwise)."""
        url = f"{self.base_url}/data/{self.vintage}/pep/population"
        params = QUERIES[query]
        if self.api_key:
            params = {**params, "key": self.api_key}
        resp = self.session.get(url, params=params)
        status, content_type = resp.status_code, resp.headers.get("Content-Type", "")
        check_response(status, content_type, resp.content)
        return status, content_type, resp.content

    def _get(self, query: str) -> list[list] | None:
        return check_response(*self.response(query))

    def county_population(self) -> list[CountyPopulation]:
        return parse_county_population(self._get("county_population"))

    def states(self) -> list[CensusState]:
        return parse_states(self._get("states"))
