"""Amplitude Export API client, built from the `amplitude_api` connection (host = base URL,
login = API key, password = secret key).

* ``export_to_file(start, end, dest) -> Path | None``: one call for the hours start..end
  (inclusive, datetimes truncated to the hour), streamed to ``dest`` (written to a ``.part``
  file first, renamed when complete and checked against Content-Length); None on 404 (no
  data); ``AmplitudeTooLarge`` on 400; ``AmplitudeError`` on any other failure, after the
  session's retries of 429/5xx/504 with backoff.
* ``export_range(start, end, dest_dir) -> list[Path]``: the range in one file, or, when the
  server answers 400, one file per hour (``amplitude_YYYYMMDDTHH.zip``); hours without data
  (404) have no file. ``export_day(day, dest_dir)`` is the range of the 24 hours of a UTC day.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

from include.connections.http import retrying_session
from include.sources.amplitude.parser import AmplitudeError, AmplitudeTooLarge
from include.sources.amplitude.settings import CHUNK, DEFAULT_BASE_URL, EXPORT_PATH, TIMEOUT

log = logging.getLogger(__name__)


def from_connection(conn_id: str = "amplitude_api", **kwargs) -> AmplitudeClient:
    """An AmplitudeClient for the `amplitude_api` connection; kwargs (session...) go to
    AmplitudeClient."""
    from include.connections import get_connection

    conn = get_connection(conn_id)
    return AmplitudeClient(
        base_url=conn.host or DEFAULT_BASE_URL,
        api_key=conn.login,
        secret_key=conn.password,
        **kwargs,
    )


def _hour(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(minute=0, second=0, microsecond=0)


def _fmt(value: datetime) -> str:
    return _hour(value).strftime("%Y%m%dT%H")


class AmplitudeClient:
    def __init__(
        self, base_url: str, api_key: str, secret_key: str, session: requests.Session | None = None
    ):
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.auth = (api_key, secret_key)
        self.session = session or retrying_session(total=5, backoff=2.0)

    def export_to_file(self, start: datetime, end: datetime, dest: Path) -> Path | None:
        dest = Path(dest)
        params = {"start": _fmt(start), "end": _fmt(end)}
        try:
            resp = self.session.get(
                f"{self.base_url}{EXPORT_PATH}",
                params=params,
                auth=self.auth,
                stream=True,
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise AmplitudeError(
                f"export {params['start']}..{params['end']} failed: {type(exc).__name__}"
            ) from exc
        with resp:
            if resp.status_code == 404:
                log.info("amplitude: no data for %s..%s", params["start"], params["end"])
                return None
            if resp.status_code != 200:
                text = resp.text[:200].strip()
                cls = AmplitudeTooLarge if resp.status_code == 400 else AmplitudeError
                what = "timed out (after retries)" if resp.status_code == 504 else text
                raise cls(f"export {params['start']}..{params['end']}: {what}", resp.status_code)
            dest.parent.mkdir(parents=True, exist_ok=True)
            part = dest.with_name(dest.name + ".part")
            size = 0
            try:
                with open(part, "wb") as fh:
                    for chunk in resp.iter_content(chunk_size=CHUNK):
                        fh.write(chunk)
                        size += len(chunk)
            except requests.RequestException as exc:
                part.unlink(missing_ok=True)
                raise AmplitudeError(
                    f"download {params['start']}..{params['end']} broke: {type(exc).__name__}"
                ) from exc
            expected = resp.headers.get("Content-Length")
            if expected is not None and int(expected) != size:
                part.unlink(missing_ok=True)
                raise AmplitudeError(
                    f"download {params['start']}..{params['end']} short: {size} of {expected} bytes"
                )
            os.replace(part, dest)
        log.info("amplitude: %s..%s -> %s (%d bytes)", params["start"], params["end"], dest, size)
        return dest

    def export_range(self, start: datetime, end: datetime, dest_dir: Path) -> list[Path]:
        dest_dir = Path(dest_dir)
        start, end = _hour(start), _hour(end)
        try:
            path = self.export_to_file(
                start, end, dest_dir / f"amplitude_{_fmt(start)}_{_fmt(end)}.zip"
            )
            return [path] if path else []
        except AmplitudeTooLarge:
            if start == end:
                raise
            log.info("amplitude: %s..%s too large, splitting into hours", _fmt(start), _fmt(end))
        out = []
        hour = start
        while hour <= end:
            path = self.export_to_file(hour, hour, dest_dir / f"amplitude_{_fmt(hour)}.zip")
            if path:
                out.append(path)
            hour += timedelta(hours=1)
        return out

    def export_day(self, day: date, dest_dir: Path) -> list[Path]:
        start = datetime(day.year, day.month, day.day)
        return self.export_range(start, start + timedelta(hours=23), dest_dir)
