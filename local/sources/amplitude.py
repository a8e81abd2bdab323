"""Local stand-in for the Amplitude Export API, served by server.py at ``/api/2/export``.

Wire format (include/sources/amplitude/README.md):

* ``GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH`` (both hours inclusive, UTC, on
  ``server_upload_time``) with basic auth (login = API key, password = secret key); bad
  credentials get 401, malformed ``start``/``end`` 400.
* The answer is a zip (members stored, not deflated) of gzipped NDJSON files named
  ``<project>/<project>_<YYYY-MM-DD>_<H>#<n>.json.gz``, 2 or 3 per hour.

The data is deterministic, from the hour and the event index (see ``hour_events``):
every hour has 8..15 events; every 7th event (index % 7 == 3) has no ``$insert_id`` but a
``uuid``; the last member of each hour repeats the hour's first event line (same
``$insert_id``: a duplicate across files, as Amplitude can send); properties are nested
and hold non-ASCII text.

Fault keys of ``POST /_control`` (reset by ``{}``): ``"amplitude"`` is one of ``"404"``
(no data), ``"400"`` (export too big: any range of more than one hour gets 400, single
hours succeed), ``"504"`` (every call), ``"504_once"`` (the first call only),
``"bad_line"`` (the first member of the first hour has a line that is not JSON and an
event without ``event_time``) and ``"truncated_member"`` (the first member of the first
hour is a truncated gzip stream), ``"resend_previous_hour"`` (the export also carries the
members of the hour before ``start``, as a re-delivery: events of the previous day appear
again), ``"short_day"`` (hours 12..23 UTC have no data, as an export taken before Amplitude
has processed the whole day: a smaller day than the full one) and ``"bad_time"`` (the first
hour also carries three events with times out of range once in UTC: in its first member
``event_time`` ``9999-12-31T23:59:59-05:00`` and ``server_upload_time``
``0001-01-01T00:00:00+01:00``, in its second ``client_event_time`` ``0000-01-01T00:00:00``,
a year 0 that Arrow parses). Hour 04 UTC of every day has no events (an hour alone is a
404). Every export call counts as ``amplitude`` in ``GET /_control``'s requests.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

PROJECT_ID = "187520"
FAULTS = (
    "404",
    "400",
    "504",
    "504_once",
    "bad_line",
    "truncated_member",
    "resend_previous_hour",
    "short_day",
    "bad_time",
)
SHORT_DAY_LAST_HOUR = 11  # "short_day": hours after this one have no data
# "bad_time": (member, event id, field, value) of the first hour's out-of-range lines
BAD_TIMES = (
    (0, "bad-time-event", "event_time", "9999-12-31T23:59:59-05:00"),
    (0, "bad-time-upload", "server_upload_time", "0001-01-01T00:00:00+01:00"),
    (1, "bad-time-client", "client_event_time", "0000-01-01T00:00:00"),
)
EMPTY_HOUR = 4  # no event is uploaded during 04:00-04:59 UTC on any day
MAX_HOURS = 24 * 31
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

EVENT_TYPES = [
    "session_start",
    "Viewed Business",
    "Search",
    "Añadir al carrito",
    "Checkout Completed",
    "Écrire un avis",
]
PLATFORMS = [("iOS", "ios"), ("Android", "android"), ("Web", "Chrome"), ("Web", "Safari")]
PLACES = [
    ("United States", "Las Cruces"),
    ("Puerto Rico", "Mayagüez"),
    ("Brazil", "São Paulo"),
    ("Germany", "Köln"),
    ("Japan", "東京"),
    ("United States", "San José"),
]
ITEMS = ["Crème brûlée", "Phở bò", "Jalapeño poppers", "Smörgås", "Bagel"]


def _h(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def _uuid(*parts: object) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:16]))


def parse_hour(text: str) -> datetime:
    """'YYYYMMDDTHH' -> tz-aware UTC datetime; ValueError otherwise."""
    if len(text) != 11 or text[8] != "T":
        raise ValueError(f"bad hour {text!r}, expected YYYYMMDDTHH")
    return datetime.strptime(text, "%Y%m%dT%H").replace(tzinfo=UTC)


def hour_events(hour: datetime) -> list[dict]:
    """The events uploaded during `hour` (tz-aware UTC, on the hour), deterministic."""
    key = hour.strftime("%Y%m%dT%H")
    out = []
    if hour.hour == EMPTY_HOUR:
        return out
    for i in range(8 + _h(key, "n") % 8):
        h = lambda *p, i=i: _h(key, i, *p)  # noqa: E731
        upload = hour + timedelta(seconds=h("up") % 3600, microseconds=h("us") % 1_000_000)
        event_time = upload - timedelta(seconds=h("lag") % 900, microseconds=h("lu") % 1000)
        client_time = event_time - timedelta(milliseconds=h("skew") % 5000)
        user = h("user") % 40
        platform, os_name = PLATFORMS[h("pf") % len(PLATFORMS)]
        country, city = PLACES[h("place") % len(PLACES)]
        session = int((event_time - timedelta(minutes=h("sess") % 30)).timestamp() * 1000)
        item = ITEMS[h("item") % len(ITEMS)]
        event = {
            "uuid": _uuid("uuid", key, i),
            "event_id": i + 1,
            "amplitude_id": 500_000_000_000 + _h("amp", user) % 1_000_000,
            "user_id": None if user % 9 == 0 else f"user-{user:03d}",
            "device_id": _uuid("device", user),
            "session_id": session,
            "event_time": event_time.strftime(TIME_FORMAT),
            "client_event_time": client_time.strftime(TIME_FORMAT),
            "server_upload_time": upload.strftime(TIME_FORMAT),
            "event_type": EVENT_TYPES[h("type") % len(EVENT_TYPES)],
            "event_properties": {
                "item": {
                    "name": item,
                    "price": round((h("price") % 5000) / 100, 2),
                    "tags": ["ñ", "🍜"] if h("tags") % 2 else [],
                },
                "query": f"{item} near {city}",
                "position": h("pos") % 10,
                "promoted": bool(h("promo") % 2),
            },
            "user_properties": {
                "plan": ["free", "pro"][user % 2],
                "locale": "es-MX",
                "display_name": f"Zoë {user}",
            },
            "group_properties": (
                {"company": {"Café Ñandú": {"tier": "gold"}}} if user % 3 == 0 else {}
            ),
            "groups": {"company": ["Café Ñandú"]} if user % 3 == 0 else {},
            "data": {"path": "/2/httpapi", "user_properties_updated": bool(h("upd") % 2)},
            "platform": platform,
            "os_name": os_name,
            "country": country,
            "city": city,
            "paying": None if user % 5 == 0 else bool(user % 2),
        }
        if i % 7 != 3:
            event = {"$insert_id": _uuid("insert", key, i), **event}
        out.append(event)
    return out


def _line(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode() + b"\n"


def hour_members(
    hour: datetime, fault: str | None = None, first: bool = False
) -> list[tuple[str, bytes]]:
    """(member name, gzipped NDJSON) of one hour; `first` marks the first hour of an export
    (where the bad_line, truncated_member and bad_time faults go)."""
    events = hour_events(hour)
    if not events or (fault == "short_day" and hour.hour > SHORT_DAY_LAST_HOUR):
        return []
    n_members = 2 + _h(hour.isoformat(), "members") % 2
    lines: list[list[bytes]] = [[] for _ in range(n_members)]
    for i, event in enumerate(events):
        lines[i % n_members].append(_line(event))
    lines[-1].append(_line(events[0]))  # duplicate $insert_id across files
    if first and fault == "bad_line":
        broken = dict(events[n_members])  # the second line of member 0
        del broken["event_time"]
        lines[0][1] = _line(broken)
        lines[0].insert(1, b'{"$insert_id": "oops", "event_time": \n')
    if first and fault == "bad_time":
        for member, key, field, value in BAD_TIMES:
            lines[member].append(_line({**events[0], "$insert_id": key, field: value}))
    out = []
    for n, member_lines in enumerate(lines):
        name = f"{PROJECT_ID}/{PROJECT_ID}_{hour:%Y-%m-%d}_{hour.hour}#{n}.json.gz"
        data = gzip.compress(b"".join(member_lines), mtime=0)
        if first and n == 0 and fault == "truncated_member":
            data = data[: len(data) // 2]
        out.append((name, data))
    return out


def export_zip(start: datetime, end: datetime, fault: str | None = None) -> bytes:
    """The export zip of hours start..end, or b"" when no hour has data (a 404)."""
    buf = io.BytesIO()
    empty = True
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        hour = start
        if fault == "resend_previous_hour":  # the hour before the range, sent again
            hour -= timedelta(hours=1)
        while hour <= end:
            for name, data in hour_members(hour, fault, first=hour == start):
                empty = False
                info = zipfile.ZipInfo(
                    name, date_time=(hour.year, hour.month, hour.day, hour.hour, 0, 0)
                )
                zf.writestr(info, data)
            hour += timedelta(hours=1)
    return b"" if empty else buf.getvalue()


def validate_control(payload: dict) -> str | None:
    if "amplitude" in payload and payload["amplitude"] not in FAULTS:
        return f"amplitude fault must be one of {', '.join(FAULTS)}, got {payload['amplitude']!r}"
    return None


class AmplitudeService:
    def __init__(self, api_key: str, secret_key: str):
        self.expected = "Basic " + base64.b64encode(f"{api_key}:{secret_key}".encode()).decode()

    def respond(
        self, state, query: str, authorization: str | None
    ) -> tuple[int, bytes, dict[str, str], str]:
        """(status, body, headers, content type) of one export call."""
        with state.lock:
            state.requests["amplitude"] = calls = state.requests.get("amplitude", 0) + 1
            fault = state.faults.get("amplitude")
        text = "text/plain; charset=utf-8"
        if authorization != self.expected:
            return 401, b"Invalid API key or secret key", {}, text
        params = {k: v[0] for k, v in parse_qs(query).items()}
        try:
            start, end = parse_hour(params.get("start", "")), parse_hour(params.get("end", ""))
        except ValueError as exc:
            return 400, str(exc).encode(), {}, text
        if end < start or (end - start) > timedelta(hours=MAX_HOURS):
            return 400, b"end must be >= start and within 31 days", {}, text
        if fault == "504" or (fault == "504_once" and calls == 1):
            return 504, b"<html><body>504 Gateway Time-out</body></html>", {}, "text/html"
        if fault == "404":
            return 404, b"Raw data files were not found.", {}, text
        if fault == "400" and end > start:
            return 400, b"Raw data files exceed the 4GB export size limit.", {}, text
        body = export_zip(start, end, fault)
        if not body:
            return 404, b"Raw data files were not found.", {}, text
        return (
            200,
            body,
            {"Content-Disposition": "attachment; filename=export.zip"},
            "application/zip",
        )
