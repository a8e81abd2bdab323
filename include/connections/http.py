"""HTTP sessions with retry, exponential backoff, Retry-After and a timeout on every call."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_TIMEOUT = (5, 60)  # connect, read (seconds)


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
) -> requests.Session:
    """A session that retries 429/5xx and connection errors with backoff, honouring Retry-After.

    `retry_statuses` lets a client that must read a 429's body (Yelp tells a per-second
    limit from a spent daily quota only there) handle 429 itself."""
    retry = Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff,
        backoff_max=60,
        status_forcelist=retry_statuses,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = _TimeoutAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session
