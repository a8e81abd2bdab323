"""HTTP sessions with retry, exponential backoff, Retry-After and a timeout on every call."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_TIMEOUT = (5, 60)  # connect, read (seconds)
# The longest a server's Retry-After may make a call wait. urllib3 honours up to 6 h by
# default: one 429/503 with "Retry-After: 21600" would park a task for hours.
RETRY_AFTER_MAX_SECONDS = 60


class CappedRetry(Retry):
    """urllib3's Retry with Retry-After (seconds or an HTTP date) cut to `retry_after_max`.

    urllib3 2.x clamps in `parse_retry_after` already when given `retry_after_max`; the
    override keeps the cap whatever urllib3 does with it (older versions have no cap)."""

    def get_retry_after(self, response) -> float | None:
        seconds = super().get_retry_after(response)
        if seconds is None:
            return None
        return min(seconds, self.retry_after_max)


class RedactingSession(requests.Session):
    """A session whose errors carry no secret: a requests exception (its message, and the
    urllib3 errors chained to it, quote the URL with its query string: an API key) is
    redacted in place before it propagates, so the traceback a task logs is clean too."""

    def send(self, request, **kwargs):
        try:
            return super().send(request, **kwargs)
        except requests.RequestException as exc:
            from include.connections.secrets import redact_exception

            redact_exception(exc)
            raise


class _TimeoutAdapter(HTTPAdapter):
    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = DEFAULT_TIMEOUT
        return super().send(request, **kwargs)


def retrying_session(
    total: int = 4,
    backoff: float = 1.0,
    user_agent: str = "elt-dag-bundle/0.1",
    retry_statuses: tuple[int, ...] = (429, 500, 502, 503, 504),
    retry_after_max: float = RETRY_AFTER_MAX_SECONDS,
) -> requests.Session:
    """A session that retries 429/5xx and connection errors with backoff, honouring
    Retry-After up to `retry_after_max` seconds (longer asks wait the cap).

    `retry_statuses` lets a client that must read a 429's body (Yelp tells a per-second
    limit from a spent daily quota only there) handle 429 itself."""
    from include.connections.secrets import install_log_filter

    install_log_filter()  # urllib3 logs the URLs it calls and retries, query keys included
    retry = CappedRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff,
        backoff_max=60,
        status_forcelist=retry_statuses,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        retry_after_max=retry_after_max,
        raise_on_status=False,
    )
    session = RedactingSession()
    adapter = _TimeoutAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session
