"""Yelp Fusion client, built from the `yelp_api` connection (host = base URL, password =
API key): paged searches up to the result cap, reviews with 301 moves followed, both 429s
told apart, a per-run call budget."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from urllib.parse import quote

import orjson

from include.sources.yelp.parser import (
    Review,
    ReviewsAnswer,
    SearchPage,
    YelpError,
    YelpQuotaExhausted,
    _html_title,
    _looks_html,
    migrated_business_id,
    parse_error,
    parse_review_records,
    parse_search_records,
)
from include.sources.yelp.settings import DEFAULT_BASE_URL, MAX_MIGRATIONS, MAX_PAGE_SIZE

log = logging.getLogger(__name__)
_CAP_ERROR = re.compile(r"limit\s*\+\s*offset|too many results", re.I)
_CAP_VALUE = re.compile(r"<=\s*(\d+)")


def from_connection(conn_id: str = "yelp_api", **kwargs) -> YelpClient:
    """A YelpClient for the `yelp_api` connection; kwargs (max_calls, page_size,
    session...) go to YelpClient."""
    from include.connections import get_connection

    conn = get_connection(conn_id)
    return YelpClient(base_url=conn.host or DEFAULT_BASE_URL, api_key=conn.password, **kwargs)


class YelpClient:
    """Yelp Fusion over HTTP; `from_connection()` builds it from the `yelp_api` connection.

    `calls` counts HTTP calls, retries included (those the session's retry policy made on
    5xx are read from the response's retry history). `max_calls` is a budget for one run:
    the call that would exceed it raises YelpQuotaExhausted before it is made.
    A caller-provided `session` should not retry 429 itself (see include.connections.http
    `retry_statuses`): the client must read a 429's body to tell a per-second limit
    from a spent daily quota."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        max_calls: int | None = None,
        page_size: int = MAX_PAGE_SIZE,
        session=None,
        rps_retries: int = 5,
        rps_backoff: float = 0.2,
    ):
        from include.connections.http import retrying_session

        if not api_key:
            raise YelpError("NO_API_KEY", "no API key: set the yelp_api connection's password")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = api_key
        self.max_calls = max_calls
        self.page_size = page_size
        self.session = session or retrying_session(retry_statuses=(500, 502, 503, 504))
        self.rps_retries = rps_retries
        self.rps_backoff = rps_backoff
        self.calls = 0
        self.rate_limit: dict[str, int | str | None] = {
            "daily_limit": None,
            "remaining": None,
            "reset_time": None,
        }
        self.result_cap: int | None = None  # learned from the first over-the-cap answer
        self._sleep = time.sleep

    def __repr__(self) -> str:
        return f"YelpClient({self.base_url!r}, calls={self.calls})"

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***")

    def _error(self, cls, code: str, description: str, status: int | None) -> YelpError:
        return cls(code, self._scrub(description), status)

    def _call(self, path: str, params: dict | None):
        """One GET (plus whatever the session retries on 5xx), within the call budget."""
        import requests

        if self.max_calls is not None and self.calls >= self.max_calls:
            raise YelpQuotaExhausted(
                "CALL_BUDGET_SPENT",
                f"the client's budget of {self.max_calls} calls is spent; not calling {path}",
            )
        try:
            resp = self.session.get(
                self.base_url + path,
                params=params,
                allow_redirects=False,
                headers={"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"},
            )
        except requests.RequestException as exc:
            self.calls += 1
            raise self._error(
                YelpError,
                "CONNECTION_ERROR",
                f"GET {path} failed: {type(exc).__name__}: {exc}",
                None,
            ) from exc
        retries = getattr(getattr(resp, "raw", None), "retries", None)
        self.calls += 1 + len(getattr(retries, "history", ()) or ())
        self._read_rate_limit(path, resp)
        return resp

    def _read_rate_limit(self, path: str, resp) -> None:
        headers = resp.headers
        if not any(h in headers for h in ("RateLimit-DailyLimit", "RateLimit-Remaining")):
            log.info("Yelp GET %s -> HTTP %s (no rate-limit headers)", path, resp.status_code)
            return

        def as_int(name):
            try:
                return int(headers[name])
            except (KeyError, ValueError):
                return None

        self.rate_limit = {
            "daily_limit": as_int("RateLimit-DailyLimit"),
            "remaining": as_int("RateLimit-Remaining"),
            "reset_time": headers.get("RateLimit-ResetTime"),
        }
        log.info(
            "Yelp GET %s -> HTTP %s; rate limit %s of %s left, resets %s",
            path,
            resp.status_code,
            self.rate_limit["remaining"],
            self.rate_limit["daily_limit"],
            self.rate_limit["reset_time"],
        )

    def _get(self, path: str, params: dict | None = None):
        """GET with the per-second 429 backed off and retried; raises on a spent quota."""
        for attempt in range(self.rps_retries + 1):
            resp = self._call(path, params)
            if resp.status_code != 429:
                return resp
            code, description = parse_error(429, resp.content)
            if code == "ACCESS_LIMIT_REACHED":
                raise self._error(YelpQuotaExhausted, code, description, 429)
            if attempt == self.rps_retries:
                raise self._error(
                    YelpError, code, f"{description} (still limited after {attempt} retries)", 429
                )
            delay = self.rps_backoff * 2**attempt
            retry_after = resp.headers.get("Retry-After", "")
            if retry_after.isdigit():
                delay = max(delay, min(float(retry_after), 60.0))
            log.info(
                "Yelp %s on %s: retry %d/%d in %.2fs",
                code,
                path,
                attempt + 1,
                self.rps_retries,
                delay,
            )
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _json(self, resp, path: str) -> dict:
        """The JSON body of a 200, or a YelpError for anything else."""
        text = resp.content.decode("utf-8", errors="replace")
        if resp.status_code != 200:
            code, description = parse_error(resp.status_code, resp.content)
            raise self._error(YelpError, code, f"GET {path}: {description}", resp.status_code)
        if _looks_html(text, resp.headers.get("Content-Type", "")):
            raise self._error(
                YelpError,
                "HTML_RESPONSE",
                f"GET {path} answered an HTML page with status 200 "
                f"({_html_title(text) or 'no title'}): a bad key page, a proxy or a captive "
                "portal; check the yelp_api connection",
                200,
            )
        try:
            return orjson.loads(text)  # ~2x json.loads on search pages
        except ValueError as exc:
            try:
                # orjson refuses an unpaired surrogate escape ("\ud800") anywhere in the
                # body; json reads it, and the parser sets aside only the record holding it.
                return json.loads(text)
            except ValueError:
                pass
            raise self._error(
                YelpError,
                "INVALID_JSON",
                f"GET {path} body is not valid JSON ({exc}); first bytes: {text[:120]!r}",
                200,
            ) from exc

    def search_page(self, location: str, offset: int) -> SearchPage | None:
        """One page of businesses at `offset`, or None when `offset` is at or past the
        result cap (Yelp answers 400 VALIDATION_ERROR over limit+offset: not an error).
        The last page below the cap is asked with a smaller limit, so paging reaches the
        cap exactly (240 in practice, 1000 in the docs). A business the parser refuses is
        in the page's `rejected`, with its reason; the rest of the page is kept."""
        path = "/v3/businesses/search"
        limit = self.page_size
        while True:
            if self.result_cap is not None:
                limit = min(limit, self.result_cap - offset)
                if limit <= 0:
                    return None
            resp = self._get(path, {"location": location, "limit": limit, "offset": offset})
            if resp.status_code == 400:
                code, description = parse_error(400, resp.content)
                if code == "VALIDATION_ERROR" and _CAP_ERROR.search(description):
                    match = _CAP_VALUE.search(description)
                    cap = int(match.group(1)) if match else None
                    if cap is None or (self.result_cap is not None and cap >= self.result_cap):
                        return None  # a cap we cannot read, or no smaller limit to try
                    self.result_cap = cap
                    log.info("Yelp result cap is %d (limit+offset); offset %d", cap, offset)
                    continue
            businesses, rejected, total = parse_search_records(self._json(resp, path))
            return SearchPage(
                businesses=businesses, total=total, offset=offset, rejected=tuple(rejected)
            )

    def search_all(self, location: str, start_offset: int = 0) -> Iterator[SearchPage]:
        """Pages from `start_offset` until `total` or the result cap."""
        offset = start_offset
        while True:
            page = self.search_page(location, offset)
            if page is None:
                return
            yield page
            offset += page.size  # set-aside records count: they hold their place
            if not page.size or offset >= page.total:
                return

    def reviews(self, business_id: str) -> tuple[str, list[Review]]:
        """(final business id, its reviews), following 301 BUSINESS_MIGRATED; a review the
        parser refuses raises MALFORMED_RESPONSE."""
        answer = self.fetch_reviews(business_id)
        if answer.rejected:
            raise YelpError("MALFORMED_RESPONSE", answer.rejected[0].reason)
        return answer.final_id, answer.reviews

    def fetch_reviews(self, business_id: str) -> ReviewsAnswer:
        """The final business id, its reviews and the reviews set aside (with their
        reasons), following 301 BUSINESS_MIGRATED."""
        current = business_id
        for _ in range(MAX_MIGRATIONS + 1):
            path = f"/v3/businesses/{quote(current, safe='')}/reviews"
            resp = self._get(path)
            if resp.status_code in (301, 302, 307, 308):
                new_id = migrated_business_id(resp.content, resp.headers.get("Location"))
                if not new_id or new_id == current:
                    code, description = parse_error(resp.status_code, resp.content)
                    raise self._error(
                        YelpError,
                        code,
                        f"GET {path}: redirect without a new business id ({description})",
                        resp.status_code,
                    )
                log.info("Yelp business %s migrated to %s", current, new_id)
                current = new_id
                continue
            reviews, rejected = parse_review_records(self._json(resp, path), current)
            return ReviewsAnswer(final_id=current, reviews=reviews, rejected=tuple(rejected))
        raise YelpError(
            "TOO_MANY_MIGRATIONS", f"business {business_id} moved more than {MAX_MIGRATIONS} times"
        )
