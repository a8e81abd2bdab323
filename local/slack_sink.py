"""A local Slack incoming-webhook sink that answers like Slack and records what it got.

* ``POST /services/<T>/<B>/<token>`` with JSON ``text``/``blocks``: ``200 ok``;
  a body that is not JSON, or has neither ``text`` nor ``blocks``: ``400 invalid_payload``.
* ``POST /_control`` ``{"mode": "ok"|"400"|"403"|"404"|"410"|"429"|"500"|"503", "times": n,
  "retry_after": s, "delay": s}``: the next ``n`` webhook calls answer that status with
  Slack's body for it (400 ``invalid_payload``, 403 ``invalid_token``, 404
  ``channel_not_found``, 410 ``channel_is_archived``, 429 ``rate_limited`` with
  ``Retry-After: s`` (default 1), 500 ``rollup_error``, 503 ``service_unavailable``);
  ``delay`` makes every webhook call take that long. Each control call resets the others.
  ``"then": [{"mode": ..., "times": n, "retry_after": s}, ...]`` queues further steps: when
  a step's ``times`` are used up the next one starts (a 429 burst, then an outage, then ok).
* ``GET /_messages`` lists the accepted messages, the forced rejections (``rejected``) and
  every webhook call answered (``calls``); ``DELETE /_messages`` clears them.

Accepted messages are appended to the ``--record`` JSONL file. The webhook token (the
secret part of the URL) is never recorded.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class SinkState:
    def __init__(self, record: Path):
        self.record = record
        self.lock = threading.Lock()
        self.mode = "ok"
        self.times = 0
        self.retry_after = "1"
        self.delay = 0.0
        self.then: list[dict] = []  # the steps after the current one
        self.messages: list[dict] = []
        self.rejected = 0
        self.calls = 0


# Slack's answers to webhook calls it refuses (https://api.slack.com/messaging/webhooks).
ERRORS = {
    "400": (400, "invalid_payload"),
    "403": (403, "invalid_token"),
    "404": (404, "channel_not_found"),
    "410": (410, "channel_is_archived"),
    "429": (429, "rate_limited"),
    "500": (500, "rollup_error"),
    "503": (503, "service_unavailable"),
}


def _step(state: SinkState, step: dict) -> None:
    """Make `step` (mode, times, retry_after) the sink's current answer."""
    state.mode = str(step.get("mode", "ok"))
    state.times = int(step.get("times", 1_000_000))
    state.retry_after = str(step.get("retry_after", 1))


def make_handler(state: SinkState):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def _send(self, status: int, body: str, headers: dict | None = None):
            data = body.encode()
            self.send_response(status)
            self.send_header(
                "Content-Type",
                "text/plain" if status != 200 or body == "ok" else "application/json",
            )
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self):
            if self.path == "/_messages":
                with state.lock:
                    return self._send(
                        200,
                        json.dumps(
                            {
                                "messages": state.messages,
                                "rejected": state.rejected,
                                "calls": state.calls,
                            }
                        ),
                    )
            return self._send(404, "not_found")

        def do_DELETE(self):
            if self.path == "/_messages":
                with state.lock:
                    state.messages.clear()
                    state.rejected = 0
                    state.calls = 0
                return self._send(200, "ok")
            return self._send(404, "not_found")

        def do_POST(self):
            body = self._body()
            if self.path == "/_control":
                ctl = json.loads(body or b"{}")
                with state.lock:
                    _step(state, ctl)
                    state.delay = float(ctl.get("delay", 0))
                    state.then = [dict(step) for step in ctl.get("then", [])]
                return self._send(200, "ok")
            if not self.path.startswith("/services/"):
                return self._send(404, "no_service")
            with state.lock:
                state.calls += 1
                delay = state.delay
                forced = None
                while state.times <= 0 and state.then:
                    _step(state, state.then.pop(0))
                if state.mode != "ok" and state.times > 0:
                    state.times -= 1
                    state.rejected += 1
                    forced = ERRORS.get(state.mode, ERRORS["500"])
                retry_after = state.retry_after
            if delay:
                time.sleep(delay)
            if forced:
                status, body = forced
                headers = {"Retry-After": retry_after} if status == 429 else None
                return self._send(status, body, headers)
            try:
                payload = json.loads(body)
            except ValueError:
                return self._send(400, "invalid_payload")
            if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
                return self._send(400, "invalid_payload")
            message = {"received_at": time.time(), "payload": payload}
            with state.lock:
                state.messages.append(message)
                with state.record.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(message, ensure_ascii=False) + "\n")
            return self._send(200, "ok")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=58081)
    parser.add_argument("--record", type=Path, default=Path("slack_messages.jsonl"))
    args = parser.parse_args()
    args.record.parent.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(SinkState(args.record)))
    server.serve_forever()


if __name__ == "__main__":
    main()
