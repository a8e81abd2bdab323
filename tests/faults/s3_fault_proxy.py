"""A fault-injecting reverse proxy in front of the local S3 server (moto, `ELT_S3_PORT`).

A real HTTP server on loopback: every request is forwarded as it came (method, path,
query, headers, body; the SigV4 signature still matches, the Host header is kept) and the
answer is passed back, except for the requests a rule picks, which S3's own error answers
replace: 503 `SlowDown` or 500 `InternalError` with S3's XML body. A rule matches a method
and a path pattern, lets its first `after` matches through, then fails the next `times`
(None: every one, a lasting outage). Every request is logged as (method, decoded path,
status answered, forwarded?), so a test reads from outside the client how often it was
asked.

    with S3FaultProxy(upstream="http://127.0.0.1:59000") as proxy:
        proxy.fail(503, method="PUT", path=r"/lake/postgres/", times=3)
        ...  # point the lake_s3 connection's endpoint_url at proxy.url
"""

from __future__ import annotations

import http.client
import re
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ERRORS = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
}


def error_body(status: int, path: str) -> bytes:
    code, message = ERRORS[status]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{path}</Resource><RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId>"
        "</Error>"
    ).encode()


@dataclass
class Rule:
    status: int
    method: str | None
    path: re.Pattern
    after: int
    times: int | None
    matched: int = 0
    failed: int = 0

    def picks(self, method: str, path: str) -> bool:
        """Whether this request is answered with the error (counts the match)."""
        if self.method and method != self.method:
            return False
        if not self.path.search(path):
            return False
        self.matched += 1
        if self.matched <= self.after:
            return False
        if self.times is not None and self.failed >= self.times:
            return False
        self.failed += 1
        return True


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    status: int
    forwarded: bool


class S3FaultProxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1"):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port or 80)
        self.lock = threading.Lock()
        self.rules: list[Rule] = []
        self.log: list[Logged] = []
        self.server = ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    # --- control -------------------------------------------------------------------

    def fail(
        self,
        status: int = 503,
        *,
        method: str | None = None,
        path: str = "",
        after: int = 0,
        times: int | None = None,
    ) -> Rule:
        """From now on, answer matching requests (after the first `after`) with `status`,
        `times` times (None: until `clear`)."""
        if status not in ERRORS:
            raise ValueError(f"status must be one of {sorted(ERRORS)}")
        rule = Rule(status, method, re.compile(path), after, times)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """No more faults (the log is kept)."""
        with self.lock:
            self.rules.clear()

    def requests(self, method: str | None = None, path: str = "") -> list[Logged]:
        pattern = re.compile(path)
        with self.lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method) and pattern.search(r.path)
            ]

    def start(self) -> S3FaultProxy:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> S3FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- the proxy -----------------------------------------------------------------

    def _pick(self, method: str, path: str) -> int | None:
        with self.lock:
            for rule in self.rules:
                if rule.picks(method, path):
                    return rule.status
        return None

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive and Expect: 100-continue, as S3

            def log_message(self, fmt, *args):
                pass

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                if self.command != "HEAD" or not any(
                    k.lower() == "content-length" for k, _ in headers
                ):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self):
                body = self._body()
                path = unquote(self.path.split("?", 1)[0])
                status = proxy._pick(self.command, path)
                if status is not None:
                    with proxy.lock:
                        proxy.log.append(Logged(self.command, path, status, False))
                    return self._answer(
                        status,
                        [("Content-Type", "application/xml"), ("x-amz-request-id", "fault")],
                        error_body(status, path),
                    )
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if body or self.command in ("PUT", "POST"):
                    headers["Content-Length"] = str(len(body))
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    resp = upstream.getresponse()
                    data = resp.read()
                    out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
                    if self.command != "HEAD":
                        out = [(k, v) for k, v in out if k.lower() != "content-length"]
                    with proxy.lock:
                        proxy.log.append(Logged(self.command, path, resp.status, True))
                    self._answer(resp.status, out, data)
                finally:
                    upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler
