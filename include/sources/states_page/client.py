"""Fetch the states page politely (robots.txt, retries, timeouts), from the `states_page`
connection: host = the site's base URL, extra `path` = the page's path."""

from __future__ import annotations

from email.message import Message
from email.utils import collapse_rfc2231_value
from urllib import robotparser
from urllib.parse import urljoin

from include.sources.states_page.parser import StatesPageError
from include.sources.states_page.settings import USER_AGENT

# robots.txt answers that mean "unreachable": assume the whole site is disallowed
# (RFC 9309 section 2.3.1.4 for 5xx; 429 is a server asking us to stay away as well).
ROBOTS_UNREACHABLE = (429,)


def from_connection(conn_id: str = "states_page") -> tuple[str, str]:
    """(base URL, page path) of the `states_page` connection."""
    from include.connections import get_connection

    conn = get_connection(conn_id)
    return conn.host, conn.extra_dejson.get("path", "/")


def _header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if it has one."""
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    if isinstance(charset, tuple):  # an RFC 2231 encoded parameter
        charset = collapse_rfc2231_value(charset)
    return charset.strip() or None if isinstance(charset, str) else None


def decode_page(content: bytes, content_type: str | None) -> str:
    """The page's text: by the header's charset when it names one; otherwise by the page
    itself (a BOM, `<meta charset>` or `<meta http-equiv="Content-Type">`), else sniffed
    (UTF-8 first), never requests' ISO-8859-1 default for text/* without a charset."""
    charset = _header_charset(content_type)
    if charset:
        try:
            return content.decode(charset, errors="replace")
        except LookupError:
            pass  # an unknown charset name: read the page as if it named none
    from bs4.dammit import UnicodeDammit

    text = UnicodeDammit(content, is_html=True).unicode_markup
    return text if text is not None else content.decode("utf-8", errors="replace")


def fetch_states_page(base_url: str, path: str, session=None, respect_robots: bool = True) -> str:
    """The page's text (see `fetch_states_page_response` and `decode_page`)."""
    return decode_page(*fetch_states_page_response(base_url, path, session, respect_robots))


def fetch_states_page_response(
    base_url: str, path: str, session=None, respect_robots: bool = True
) -> tuple[bytes, str | None]:
    """The page's body as received and its Content-Type, after robots.txt allowed it;
    StatesPageError for a disallowed or unreachable robots.txt or a non-200 page."""
    from include.connections.http import retrying_session

    session = session or retrying_session(user_agent=USER_AGENT)
    url = urljoin(base_url.rstrip("/") + "/", path.lstrip("/"))
    if respect_robots:
        robots_url = urljoin(url, "/robots.txt")
        robots = session.get(robots_url)
        if robots.status_code >= 500 or robots.status_code in ROBOTS_UNREACHABLE:
            raise StatesPageError(
                f"robots.txt answered HTTP {robots.status_code} for {robots_url} (after "
                f"retries): an unreachable robots.txt means do not fetch, so {url} was not "
                "asked; clear the task once the site answers"
            )
        parser = robotparser.RobotFileParser()
        # 200: its rules; any other 4xx: no robots.txt, everything is allowed.
        parser.parse(robots.text.splitlines() if robots.status_code == 200 else [])
        if robots.status_code == 200 and not parser.can_fetch(USER_AGENT, url):
            raise StatesPageError(f"robots.txt disallows {url}")
    resp = session.get(url)
    if resp.status_code != 200:
        raise StatesPageError(f"states page HTTP {resp.status_code} for {url}")
    return resp.content, resp.headers.get("Content-Type")
