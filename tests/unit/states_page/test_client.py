"""The states page client on scripted answers (no network): what robots.txt's status means,
and how a page is decoded when its Content-Type names no charset. Expected text is written
out by hand, never produced by the client."""

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from include.sources.states_page.client import fetch_states_page
from include.sources.states_page.parser import StatesPageError

PAGE = (
    "<!DOCTYPE html><html><head>{meta}<title>US States</title></head><body>"
    '<table class="table table-hover"><tbody>'
    "<tr><td>Doña Ana Territory</td><td>DA</td></tr></tbody></table></body></html>"
)


def _response(status: int, body: bytes, content_type: str | None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = body
    resp.headers = CaseInsensitiveDict({"Content-Type": content_type} if content_type else {})
    resp.encoding = requests.utils.get_encoding_from_headers(resp.headers)  # as requests does
    return resp


class ScriptedSession:
    """robots.txt, then the page; records the URLs asked."""

    def __init__(self, robots: requests.Response, page: requests.Response | None = None):
        self.answers = {"/robots.txt": robots, "/us-states/": page}
        self.urls: list[str] = []

    def get(self, url, **_):
        self.urls.append(url)
        path = "/" + url.split("/", 3)[3]
        answer = self.answers[path]
        assert answer is not None, f"{url} should not have been asked"
        return answer


def _robots(status: int, text: str = "User-agent: *\nDisallow: /private/\n"):
    return _response(status, text.encode(), "text/plain")


def _page(body: bytes, content_type: str | None = "text/html"):
    return _response(200, body, content_type)


def _fetch(session) -> str:
    return fetch_states_page("http://states.test", "/us-states/", session=session)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_robots_txt_unreachable_means_do_not_fetch(status):
    session = ScriptedSession(_robots(status, "<html>unavailable</html>"))
    with pytest.raises(StatesPageError, match=rf"robots\.txt answered HTTP {status}"):
        _fetch(session)
    assert session.urls == ["http://states.test/robots.txt"]  # the page was not asked


@pytest.mark.parametrize("status", [404, 410, 403])
def test_robots_txt_missing_means_allowed(status):
    body = PAGE.format(meta='<meta charset="utf-8">').encode()
    session = ScriptedSession(_robots(status, "not found"), _page(body, "text/html; charset=utf-8"))
    assert "Doña Ana Territory" in _fetch(session)


def test_robots_txt_that_disallows_the_page_stops_the_run():
    session = ScriptedSession(_robots(200, "User-agent: *\nDisallow: /us-states/\n"))
    with pytest.raises(StatesPageError, match=r"robots\.txt disallows"):
        _fetch(session)


def test_no_charset_in_the_header_decodes_by_the_meta_charset():
    body = PAGE.format(meta='<meta charset="utf-8">').encode("utf-8")
    text = _fetch(ScriptedSession(_robots(200), _page(body, "text/html")))
    assert "Doña Ana Territory" in text and "DoÃ±a" not in text


def test_no_charset_in_the_header_honours_a_meta_http_equiv_windows_1252():
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    body = PAGE.format(meta=meta).encode("cp1252")
    assert b"Do\xf1a" in body
    assert "Doña Ana Territory" in _fetch(ScriptedSession(_robots(200), _page(body)))


def test_no_charset_anywhere_sniffs_utf_8():
    body = PAGE.format(meta="").encode("utf-8")
    assert "Doña Ana Territory" in _fetch(ScriptedSession(_robots(200), _page(body, None)))


def test_a_charset_in_the_header_is_used():
    body = PAGE.format(meta="").encode("cp1252")
    session = ScriptedSession(_robots(200), _page(body, "text/html; charset=windows-1252"))
    assert "Doña Ana Territory" in _fetch(session)
