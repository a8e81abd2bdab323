"""Fetch the states page politely (robots.txt, retries, timeouts), from the `states_page`
connection: host = the site's base URL, extra `path` = the page's path."""

from __future__ import annotations

from urllib import robotparser
from urllib.parse import urljoin

from include.sources.states_page.parser import StatesPageError
from include.sources.states_page.settings import USER_AGENT


def from_connection(conn_id: str = "states_page") -> tuple[str, str]:
    """(base URL, page path) of the `states_page` connection."""
    from include.connections import get_connection

    conn = get_connection(conn_id)
    return conn.host, conn.extra_dejson.get("path", "/")


def fetch_states_page(base_url: str, path: str, session=None, respect_robots: bool = True) -> str:
    from include.connections.http import retrying_session

    session = session or retrying_session(user_agent=USER_AGENT)
    url = urljoin(base_url.rstrip("/") + "/", path.lstrip("/"))
    if respect_robots:
        robots = session.get(urljoin(url, "/robots.txt"))
        parser = robotparser.RobotFileParser()
        parser.parse(robots.text.splitlines() if robots.status_code == 200 else [])
        if robots.status_code == 200 and not parser.can_fetch(USER_AGENT, url):
            raise StatesPageError(f"robots.txt disallows {url}")
    resp = session.get(url)
    if resp.status_code != 200:
        raise StatesPageError(f"states page HTTP {resp.status_code} for {url}")
    resp.encoding = resp.encoding or "utf-8"
    return resp.text
