"""The retrying session waits what a server's Retry-After asks, but never longer than the
cap (urllib3 alone sleeps up to 6 h): against a local HTTP server that answers 429/503 with
a huge Retry-After, then 200."""

import email.utils
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from include.connections import http


class _Server:
    """Answers `status` with `retry_after` to the first `failures` requests, then 200."""

    def __init__(self, status: int, retry_after: str, failures: int = 1):
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.calls += 1
                if outer.calls <= failures:
                    body = b"slow down"
                    self.send_response(status)
                    self.send_header("Retry-After", retry_after)
                else:
                    body = b"ok"
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/x"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sleeps(monkeypatch):
    """Every sleep urllib3's Retry asks for, recorded instead of slept."""
    import urllib3.util.retry

    recorded: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", recorded.append)
    return recorded


SIX_HOURS = "21600"
IN_A_DAY = email.utils.formatdate(time.time() + 86400, usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after"), [(503, SIX_HOURS), (429, SIX_HOURS), (503, IN_A_DAY)]
)
def test_a_huge_retry_after_is_capped_at_60_seconds(sleeps, status, retry_after):
    server = _Server(status, retry_after)
    try:
        resp = http.retrying_session().get(server.url)
    finally:
        server.close()
    assert resp.status_code == 200 and server.calls == 2
    # one wait, for the Retry-After, cut to the cap (60 s), not the 6 h / 1 day asked
    assert sleeps == [60], sleeps


def test_a_short_retry_after_is_honoured_as_asked(sleeps):
    server = _Server(503, "7")
    try:
        resp = http.retrying_session().get(server.url)
    finally:
        server.close()
    assert resp.status_code == 200
    assert sleeps == [7], sleeps


def test_the_cap_bounds_the_real_wait():
    """Unpatched: a server asking for 6 h costs about the cap (here 1 s), not 6 h."""
    server = _Server(503, SIX_HOURS, failures=2)
    started = time.monotonic()
    try:
        resp = http.retrying_session(retry_after_max=1).get(server.url)
    finally:
        server.close()
    elapsed = time.monotonic() - started
    assert resp.status_code == 200 and server.calls == 3
    assert 2 <= elapsed < 10, elapsed
