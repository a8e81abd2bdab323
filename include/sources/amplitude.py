"""Amplitude Export API: client (streams the zip to disk) and a pure parser of the zip.

Wire format (DESIGN.md "Source wire formats" -> "Amplitude Export API"):
``GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH`` (both hours inclusive, UTC, on
``server_upload_time``), basic auth with the API key and the secret key. The answer is a zip
of gzipped NDJSON files, possibly several per hour. 404 means no data, 400 that the export
is over 4 GB (split the range), 504 a timeout.

Client API:

* ``export_to_file(start, end, dest) -> Path | None``: one call for the hours start..end
  (inclusive, datetimes truncated to the hour), streamed to ``dest`` (written to a ``.part``
  file first, renamed when complete and checked against Content-Length); None on 404 (no
  data); ``AmplitudeTooLarge`` on 400; ``AmplitudeError`` on any other failure, after the
  session's retries of 429/5xx/504 with backoff.
* ``export_range(start, end, dest_dir) -> list[Path]``: the range in one file, or, when the
  server answers 400, one file per hour (``amplitude_YYYYMMDDTHH.zip``); hours without data
  (404) have no file. ``export_day(day, dest_dir)`` is the range of the 24 hours of a UTC day.

Parser: ``iter_events(zip_path)`` yields ``Event`` (typed identity, UTC times, context and
``properties`` rows) or ``Quarantined`` (member, line number, reason, raw line). Dedup (on
``$insert_id``, else ``uuid``) is NOT done here: duplicates across files are yielded as is.
A corrupt or truncated gzip member yields one ``Quarantined`` with ``line_number=None`` and
none of its events (each member is checked in a first streaming pass), and iteration goes
on with the next member.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests

from include.http import retrying_session

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://amplitude.com"
EXPORT_PATH = "/api/2/export"
CHUNK = 1 << 20
TIMEOUT = (10, 300)  # connect, read: big exports take a while to start
PROPERTY_FIELDS = (("event", "event_properties"), ("user", "user_properties"),
                   ("group", "group_properties"), ("groups", "groups"), ("data", "data"))


class AmplitudeError(RuntimeError):
    """Amplitude answered an error (never holds the credentials)."""

    def __init__(self, message: str, status: int | None = None):
        self.status = status
        super().__init__(message if status is None else f"Amplitude HTTP {status}: {message}")


class AmplitudeTooLarge(AmplitudeError):
    """400: the export is over the size limit; split the range."""


@dataclass(frozen=True)
class EventProperty:
    property_type: str  # event, user, group, groups, data
    key: str
    value: str | None  # text; nested values as JSON text; JSON null -> None


@dataclass(frozen=True)
class Event:
    member: str
    line_number: int
    insert_id: str | None
    uuid: str | None
    event_id: int | None
    amplitude_id: int | None
    user_id: str | None
    device_id: str | None
    session_id: int | None
    event_time: datetime  # tz-aware UTC
    client_event_time: datetime | None
    server_upload_time: datetime | None
    event_type: str | None
    platform: str | None
    os_name: str | None
    country: str | None
    city: str | None
    paying: bool | None
    properties: tuple[EventProperty, ...]


@dataclass(frozen=True)
class Quarantined:
    member: str
    line_number: int | None  # None: the whole member is unreadable
    reason: str
    raw_line: str | None


def _hour(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(minute=0, second=0, microsecond=0)


def _fmt(value: datetime) -> str:
    return _hour(value).strftime("%Y%m%dT%H")


class AmplitudeClient:
    def __init__(self, base_url: str, api_key: str, secret_key: str,
                 session: requests.Session | None = None):
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.auth = (api_key, secret_key)
        self.session = session or retrying_session(total=5, backoff=2.0)

    def export_to_file(self, start: datetime, end: datetime, dest: Path) -> Path | None:
        dest = Path(dest)
        params = {"start": _fmt(start), "end": _fmt(end)}
        try:
            resp = self.session.get(f"{self.base_url}{EXPORT_PATH}", params=params,
                                    auth=self.auth, stream=True, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise AmplitudeError(f"export {params['start']}..{params['end']} failed: "
                                 f"{type(exc).__name__}") from exc
        with resp:
            if resp.status_code == 404:
                log.info("amplitude: no data for %s..%s", params["start"], params["end"])
                return None
            if resp.status_code != 200:
                text = resp.text[:200].strip()
                cls = AmplitudeTooLarge if resp.status_code == 400 else AmplitudeError
                what = "timed out (after retries)" if resp.status_code == 504 else text
                raise cls(f"export {params['start']}..{params['end']}: {what}",
                          resp.status_code)
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
                raise AmplitudeError(f"download {params['start']}..{params['end']} broke: "
                                     f"{type(exc).__name__}") from exc
            expected = resp.headers.get("Content-Length")
            if expected is not None and int(expected) != size:
                part.unlink(missing_ok=True)
                raise AmplitudeError(f"download {params['start']}..{params['end']} short: "
                                     f"{size} of {expected} bytes")
            os.replace(part, dest)
        log.info("amplitude: %s..%s -> %s (%d bytes)", params["start"], params["end"], dest,
                 size)
        return dest

    def export_range(self, start: datetime, end: datetime, dest_dir: Path) -> list[Path]:
        dest_dir = Path(dest_dir)
        start, end = _hour(start), _hour(end)
        try:
            path = self.export_to_file(
                start, end, dest_dir / f"amplitude_{_fmt(start)}_{_fmt(end)}.zip")
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


# --- pure parser ----------------------------------------------------------------------


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _time(value, field: str, required: bool) -> datetime | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"missing {field}")
        return None
    if not isinstance(value, str):
        raise ValueError(f"bad {field}: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"bad {field}: {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _int(value, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"bad {field}: {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise ValueError(f"bad {field}: {value!r}") from None


def _str(value) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _bool(value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def parse_event(obj: dict, member: str, line_number: int) -> Event:
    """One decoded event line -> Event; ValueError with the reason when unusable."""
    insert_id, uid = _str(obj.get("$insert_id")), _str(obj.get("uuid"))
    if insert_id is None and uid is None:
        raise ValueError("missing $insert_id and uuid")
    props = []
    for ptype, field in PROPERTY_FIELDS:
        value = obj.get(field)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise ValueError(f"{field} is not an object")
        props.extend(EventProperty(ptype, str(k), _text(v)) for k, v in value.items())
    return Event(
        member=member, line_number=line_number, insert_id=insert_id, uuid=uid,
        event_id=_int(obj.get("event_id"), "event_id"),
        amplitude_id=_int(obj.get("amplitude_id"), "amplitude_id"),
        user_id=_str(obj.get("user_id")), device_id=_str(obj.get("device_id")),
        session_id=_int(obj.get("session_id"), "session_id"),
        event_time=_time(obj.get("event_time"), "event_time", required=True),
        client_event_time=_time(obj.get("client_event_time"), "client_event_time", False),
        server_upload_time=_time(obj.get("server_upload_time"), "server_upload_time", False),
        event_type=_str(obj.get("event_type")), platform=_str(obj.get("platform")),
        os_name=_str(obj.get("os_name")), country=_str(obj.get("country")),
        city=_str(obj.get("city")), paying=_bool(obj.get("paying")),
        properties=tuple(props),
    )


def _member_problem(zf: zipfile.ZipFile, name: str) -> str | None:
    """Why the gzip member `name` cannot be read to its end, or None (streams, no memory)."""
    try:
        with zf.open(name) as raw, gzip.GzipFile(fileobj=raw) as gz:
            while gz.read(CHUNK):
                pass
    except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
        return f"corrupt gzip member: {type(exc).__name__}: {exc}"
    return None


def iter_events(zip_path: Path) -> Iterator[Event | Quarantined]:
    """Every event of an export zip, member by member, line by line (see module doc)."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            member = info.filename
            problem = _member_problem(zf, member)
            if problem:
                yield Quarantined(member, None, problem, None)
                continue
            with zf.open(member) as raw, gzip.GzipFile(fileobj=raw) as gz:
                for number, line in enumerate(gz, start=1):
                    try:
                        text = line.decode("utf-8").rstrip("\r\n")
                    except UnicodeDecodeError:
                        yield Quarantined(member, number, "not UTF-8",
                                          line.decode("utf-8", errors="replace").rstrip("\n"))
                        continue
                    if not text.strip():
                        continue
                    try:
                        obj = json.loads(text)
                    except ValueError:
                        yield Quarantined(member, number, "not JSON", text)
                        continue
                    if not isinstance(obj, dict):
                        yield Quarantined(member, number, "not a JSON object", text)
                        continue
                    try:
                        yield parse_event(obj, member, number)
                    except ValueError as exc:
                        yield Quarantined(member, number, str(exc), text)
