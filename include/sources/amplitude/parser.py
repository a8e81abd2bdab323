"""Amplitude Export API: the pure parser of the export zip (the client is client.py).

Wire format (README.md):
``GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH`` (both hours inclusive, UTC, on
``server_upload_time``), basic auth with the API key and the secret key. The answer is a zip
of gzipped NDJSON files, possibly several per hour. 404 means no data, 400 that the export
is over 4 GB (split the range), 504 a timeout.

Parser (columnar): ``iter_batches(zip_path)`` reads each gzip member once, in chunks, and
yields a ``ParsedBatch`` (an Arrow record batch of typed events, with the five property
objects as JSON text, plus the lines quarantined with their reason) for every
``BATCH_LINES`` lines or ``AMPLITUDE_BATCH_BYTES`` bytes, so memory is bounded by the
batch, not the day: a line over ``AMPLITUDE_MAX_LINE_BYTES`` is read past (kept as its
first 8 kB and its length, and quarantined), and a member that inflates past
``AMPLITUDE_MAX_INFLATE_RATIO`` times its size in the zip ends with ``MemberFailed`` (a
zip bomb is not read further). A clean batch is
read in bulk: Arrow's C++ JSON reader types the scalar fields in a worker thread (it
releases the GIL) while msgspec decodes the property objects as raw JSON text in this one;
no Python object is made per value. A batch with any line the bulk path refuses is decoded
line by line (msgspec, typed), and the lines that fail that go through ``parse_line``, the
row-wise reference parser, which types them or gives the quarantine reason. PostgreSQL
makes the property rows at load (``jsonb_each_text``). A corrupt or truncated gzip member
ends with ``MemberFailed``: the consumer discards that member's batches (the member is
quarantined whole) and iteration goes on with the next member. ``iter_events(zip_path)``
is the same parse as ``Event``/``Quarantined`` objects (for tests and small tools; it holds
a member in memory). Dedup (on ``$insert_id``, else ``uuid``) is NOT done here: duplicates
across files are yielded as is.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import sys
import zipfile
import zlib
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from operator import attrgetter
from pathlib import Path

import msgspec
from msgspec import Raw

from include.sources.amplitude import settings

log = logging.getLogger(__name__)

PROPERTY_FIELDS = (
    ("event", "event_properties"),
    ("user", "user_properties"),
    ("group", "group_properties"),
    ("groups", "groups"),
    ("data", "data"),
)


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
    properties: tuple[EventProperty, ...]  # the rows PostgreSQL makes of property_json
    property_json: tuple[str | None, ...] = ()  # the 5 property objects as received


@dataclass(frozen=True)
class Quarantined:
    member: str
    line_number: int | None  # None: the whole member is unreadable
    reason: str
    raw_line: str | None


BATCH_LINES = 10_000
CHUNK = 1 << 20  # bytes read from a gzip member at a time
STRING_FIELDS = (
    "insert_id",
    "uuid",
    "user_id",
    "device_id",
    "event_type",
    "platform",
    "os_name",
    "country",
    "city",
)
INT_FIELDS = ("event_id", "amplitude_id", "session_id")
TIME_FIELDS = ("event_time", "client_event_time", "server_upload_time")
PROPERTY_JSON_COLUMNS = (
    "event_properties",
    "user_properties",
    "group_properties",
    "groups",
    "data",
)
RAW_EVENT_COLUMNS = (
    "event_key",
    "insert_id",
    "uuid",
    "event_id",
    "amplitude_id",
    "user_id",
    "device_id",
    "session_id",
    "event_time",
    "client_event_time",
    "server_upload_time",
    "event_type",
    "platform",
    "os_name",
    "country",
    "city",
    "paying",
    "member",
    "line_number",
)  # = raw.amplitude_event's
EVENT_COLUMNS = RAW_EVENT_COLUMNS + PROPERTY_JSON_COLUMNS  # a ParsedBatch's events
UNSTORABLE_ESCAPES = re.compile(rb"\\u(0000|[dD][89abAB89]|[dD][c-fC-F])")
# The instants every layer can hold: Python's datetime (what psycopg and the lake export
# read back), PostgreSQL timestamptz and BigQuery TIMESTAMP all take 0001-01-01 to
# 9999-12-31 UTC; a time outside it (in UTC, after its offset) is quarantined.
TIME_RANGE = "0001-01-01..9999-12-31 UTC"
MIN_TIME_US = -62135596800000000  # 0001-01-01T00:00:00Z, microseconds since the epoch
MAX_TIME_US = 253402300799999999  # 9999-12-31T23:59:59.999999Z
_RENAME = {"insert_id": "$insert_id"}


class _Typed(msgspec.Struct, rename=_RENAME, gc=False):
    """The wire event as the bulk path reads it: typed numbers, booleans and times; the
    text fields and property values kept as the raw JSON text they arrived as (msgspec.Raw:
    no Python str per value, exact digits, no re-serialization)."""

    insert_id: Raw = Raw(b"null")
    uuid: Raw = Raw(b"null")
    event_id: int | None = None
    amplitude_id: int | None = None
    user_id: Raw = Raw(b"null")
    device_id: Raw = Raw(b"null")
    session_id: int | None = None
    event_time: str | None = None
    client_event_time: str | None = None
    server_upload_time: str | None = None
    event_type: Raw = Raw(b"null")
    platform: Raw = Raw(b"null")
    os_name: Raw = Raw(b"null")
    country: Raw = Raw(b"null")
    city: Raw = Raw(b"null")
    paying: bool | None = None
    event_properties: Raw = Raw(b"null")
    user_properties: Raw = Raw(b"null")
    group_properties: Raw = Raw(b"null")
    groups: Raw = Raw(b"null")
    data: Raw = Raw(b"null")


class _Loose(msgspec.Struct, rename=_RENAME):
    """The same event read leniently, for the row-wise reference parser."""

    insert_id: Raw = Raw(b"null")
    uuid: Raw = Raw(b"null")
    event_id: object = None
    amplitude_id: object = None
    user_id: Raw = Raw(b"null")
    device_id: Raw = Raw(b"null")
    session_id: object = None
    event_time: object = None
    client_event_time: object = None
    server_upload_time: object = None
    event_type: Raw = Raw(b"null")
    platform: Raw = Raw(b"null")
    os_name: Raw = Raw(b"null")
    country: Raw = Raw(b"null")
    city: Raw = Raw(b"null")
    paying: object = None
    event_properties: Raw = Raw(b"null")
    user_properties: Raw = Raw(b"null")
    group_properties: Raw = Raw(b"null")
    groups: Raw = Raw(b"null")
    data: Raw = Raw(b"null")


_TYPED = msgspec.json.Decoder(_Typed)
_LOOSE = msgspec.json.Decoder(_Loose)
_PROPS = msgspec.json.Decoder(dict[str, Raw])
_STRING = msgspec.json.Decoder(str)


def _events_schema():
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    types = {
        "event_id": pa.int64(),
        "amplitude_id": pa.int64(),
        "session_id": pa.int64(),
        "event_time": ts,
        "client_event_time": ts,
        "server_upload_time": ts,
        "paying": pa.bool_(),
        "line_number": pa.int32(),
    }
    events = pa.schema(
        [
            pa.field(
                c,
                types.get(c, pa.string()),
                nullable=c not in ("event_key", "event_time", "member", "line_number"),
            )
            for c in EVENT_COLUMNS
        ]
    )
    return events


@dataclass
class ParsedBatch:
    member: str
    events: object  # pyarrow.RecordBatch, EVENT_COLUMNS (property objects as JSON text)
    quarantined: list[Quarantined]


@dataclass(frozen=True)
class MemberFailed:
    """The member could not be read to its end: discard its batches; quarantine it whole."""

    member: str
    reason: str


# --- the row-wise reference parser: the semantics; the bulk path must agree with it ------


def _raw_text(raw) -> str | None:
    """A property value as text: a JSON string is the string itself, null is None, anything
    else (number, boolean, object, array) is its JSON text as received."""
    text = bytes(raw).strip()
    if text == b"null":
        return None
    if text[:1] == b'"':
        return _STRING.decode(text)
    return text.decode("utf-8")


def _time(value, field: str, required: bool) -> datetime | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"missing {field}")
        return None
    if not isinstance(value, str):
        raise ValueError(f"bad {field}: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        # naive means UTC; an offset that crosses year 1 or 9999 raises OverflowError
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"bad {field}: {value!r} (out of range: {TIME_RANGE})") from None
    except ValueError as exc:
        if "out of range" in str(exc):  # year 0, say
            raise ValueError(f"bad {field}: {value!r} (out of range: {TIME_RANGE})") from None
        raise ValueError(f"bad {field}: {value!r}") from None


def _int(value, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"bad {field}: {value!r}")
    if isinstance(value, int):
        if not -(1 << 63) <= value < (1 << 63):
            raise ValueError(f"bad {field}: {value!r} is out of the 64-bit range")
        return value
    try:
        return _int(int(str(value)), field)
    except ValueError:
        raise ValueError(f"bad {field}: {value!r}") from None


def _str(raw) -> str | None:
    """A text field: the string itself, or the JSON text of any other value (42 -> "42");
    null and "" are no value."""
    return _raw_text(raw) or None


def _bool(value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def raw_line_text(line: bytes, size: int | None = None) -> str:
    """A quarantined line as stored: its first RAW_LINE_KEEP_BYTES bytes as text (bytes
    that are not UTF-8 replaced) and, when the line (`size` bytes, default its length) is
    longer, a note of how much was kept."""
    keep = settings.RAW_LINE_KEEP_BYTES
    size = len(line) if size is None else size
    text = line[:keep].decode("utf-8", errors="replace").rstrip("\r\n")
    return text if size <= keep else f"{text} ... [{keep} of {size} bytes kept]"


def parse_line(line: bytes, member: str, line_number: int) -> Event | Quarantined:
    """One line of a member -> Event, or Quarantined with the reason (the reference)."""
    try:
        return _parse_line(line, member, line_number)
    except RecursionError:  # msgspec and json stop at Python's recursion limit
        reason = f"JSON nested too deeply (over {sys.getrecursionlimit()} levels) to decode"
        return Quarantined(member, line_number, reason, raw_line_text(line))


def _parse_line(line: bytes, member: str, line_number: int) -> Event | Quarantined:
    if isinstance(line, Oversized):
        return Quarantined(member, line_number, line.reason, raw_line_text(line, line.size))
    try:
        text = line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return Quarantined(member, line_number, "not UTF-8", raw_line_text(line))
    try:
        obj = _LOOSE.decode(line)
    except msgspec.ValidationError:
        return Quarantined(member, line_number, "not a JSON object", raw_line_text(line))
    except msgspec.DecodeError as exc:
        try:  # valid JSON msgspec refuses: an unpaired surrogate escape, say
            reason = _unstorable(json.loads(text)) or f"not decodable: {exc}"
        except ValueError:
            reason = "not JSON"
        return Quarantined(member, line_number, reason, raw_line_text(line))
    try:
        event = _event_from_loose(obj, member, line_number)
    except ValueError as exc:
        return Quarantined(member, line_number, str(exc), raw_line_text(line))
    if UNSTORABLE_ESCAPES.search(line):
        problem = _unstorable(json.loads(text))
        if problem:
            return Quarantined(member, line_number, problem, raw_line_text(line))
    return event


def _unstorable(value) -> str | None:
    """Why PostgreSQL could not store a decoded JSON value (text or jsonb), or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "holds a NUL character (\\u0000), which PostgreSQL cannot store"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "holds an unpaired UTF-16 surrogate, which PostgreSQL cannot store"
        return None
    if isinstance(value, dict):
        parts = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        parts = value
    else:
        return None
    for part in parts:
        problem = _unstorable(part)
        if problem:
            return problem
    return None


def _event_from_loose(obj: _Loose, member: str, line_number: int) -> Event:
    insert_id, uid = _str(obj.insert_id), _str(obj.uuid)
    if insert_id is None and uid is None:
        raise ValueError("missing $insert_id and uuid")
    props, texts = [], []
    for ptype, field in PROPERTY_FIELDS:
        raw = bytes(getattr(obj, field)).strip()
        if raw == b"null":
            texts.append(None)
            continue
        try:
            values = _PROPS.decode(raw)
        except msgspec.DecodeError:
            raise ValueError(f"{field} is not an object") from None
        texts.append(raw.decode("utf-8"))
        props.extend(EventProperty(ptype, k, _raw_text(v)) for k, v in values.items())
    return Event(
        member=member,
        line_number=line_number,
        insert_id=insert_id,
        uuid=uid,
        event_id=_int(obj.event_id, "event_id"),
        amplitude_id=_int(obj.amplitude_id, "amplitude_id"),
        user_id=_str(obj.user_id),
        device_id=_str(obj.device_id),
        session_id=_int(obj.session_id, "session_id"),
        event_time=_time(obj.event_time, "event_time", required=True),
        client_event_time=_time(obj.client_event_time, "client_event_time", False),
        server_upload_time=_time(obj.server_upload_time, "server_upload_time", False),
        event_type=_str(obj.event_type),
        platform=_str(obj.platform),
        os_name=_str(obj.os_name),
        country=_str(obj.country),
        city=_str(obj.city),
        paying=_bool(obj.paying),
        properties=tuple(props),
        property_json=tuple(texts),
    )


# --- the bulk path ----------------------------------------------------------------------


_TYPED_FIELDS = _Typed.__struct_fields__


def _bulk(events: list[_Typed]) -> tuple[dict, tuple]:
    """Columns for typed events (the per-line path of a batch with some bad lines); raises
    ValueError/ArrowException for anything it does not cover (a time Arrow cannot cast),
    so the caller takes the row path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    events_schema = _events_schema()
    columns = {name: list(map(attrgetter(name), events)) for name in _TYPED_FIELDS}
    cols = {}
    null_string = pa.scalar(None, pa.string())
    for name in STRING_FIELDS:
        arr = _raw_texts(columns[name])
        cols[name] = pc.if_else(pc.equal(arr, ""), null_string, arr)  # "" is no value
    cols["event_key"] = pc.coalesce(cols["insert_id"], cols["uuid"])
    for name in INT_FIELDS:
        cols[name] = pa.array(columns[name], pa.int64())
    for name in TIME_FIELDS:
        arr = pa.array(columns[name], pa.string())
        arr = pc.if_else(pc.equal(arr, ""), null_string, arr)
        cols[name] = arr.cast(pa.timestamp("us")).cast(events_schema.field(name).type)
        if not _in_time_range(cols[name]):
            raise ValueError(f"a {name} out of range")  # the row path names the line
    cols["paying"] = pa.array(columns["paying"], pa.bool_())
    if cols["event_key"].null_count or cols["event_time"].null_count:
        raise ValueError("an event without an id or event_time")
    for field in PROPERTY_JSON_COLUMNS:
        cols[field] = _json_objects(columns[field])
    return cols


# --- the clean-batch path: Arrow's C++ JSON reader for the scalars, in a thread (it
# releases the GIL), while msgspec decodes the property objects in this one.


class _PropsOnly(msgspec.Struct, gc=False):
    event_properties: Raw = Raw(b"null")
    user_properties: Raw = Raw(b"null")
    group_properties: Raw = Raw(b"null")
    groups: Raw = Raw(b"null")
    data: Raw = Raw(b"null")


_PROPS_ONLY = msgspec.json.Decoder(list[_PropsOnly])
_EXECUTOR: dict[int, object] = {}


def _executor():
    from concurrent.futures import ThreadPoolExecutor

    pid = os.getpid()  # a forked worker gets its own thread
    if pid not in _EXECUTOR:
        _EXECUTOR.clear()
        _EXECUTOR[pid] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amp-json")
    return _EXECUTOR[pid]


def _scalar_schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("$insert_id" if n == "insert_id" else n, pa.string())
            for n in STRING_FIELDS + TIME_FIELDS
        ]
        + [(n, pa.int64()) for n in INT_FIELDS]
        + [("paying", pa.bool_())]
    )


def _read_scalars(payload: bytes):
    """The scalar fields of NDJSON `payload` as an Arrow table (types enforced: a number
    where a string belongs, a float or a too-large integer in an id, raises)."""
    import pyarrow as pa
    import pyarrow.json as pj

    return pj.read_json(
        pa.BufferReader(payload),
        read_options=pj.ReadOptions(use_threads=False, block_size=len(payload) + 1),
        parse_options=pj.ParseOptions(
            explicit_schema=_scalar_schema(), unexpected_field_behavior="ignore"
        ),
    )


def _clean_batch(lines: list[bytes]) -> dict | None:
    """Columns for a batch of clean lines, or None when any line needs a closer look."""
    import pyarrow as pa
    import pyarrow.compute as pc

    future = _executor().submit(_read_scalars, b"\n".join(lines))
    try:
        props = _PROPS_ONLY.decode(b"[" + b",".join(lines) + b"]")
    except (msgspec.DecodeError, RecursionError):
        props = None
    try:
        table = future.result()
    except (pa.ArrowException, ValueError):
        return None
    if props is None or table.num_rows != len(lines):
        return None
    events_schema = _events_schema()
    null_string = pa.scalar(None, pa.string())
    cols = {}
    for name in STRING_FIELDS + TIME_FIELDS:
        arr = table.column("$insert_id" if name == "insert_id" else name).combine_chunks()
        cols[name] = pc.if_else(pc.equal(arr, ""), null_string, arr)  # "" is no value
    cols["event_key"] = pc.coalesce(cols["insert_id"], cols["uuid"])
    try:
        for name in TIME_FIELDS:
            cols[name] = cols[name].cast(pa.timestamp("us")).cast(events_schema.field(name).type)
    except pa.ArrowException:
        return None
    if not all(_in_time_range(cols[name]) for name in TIME_FIELDS):
        return None  # Arrow parses year 0; the per-line path quarantines it
    if cols["event_key"].null_count or cols["event_time"].null_count:
        return None
    for name in INT_FIELDS + ("paying",):
        cols[name] = table.column(name).combine_chunks()
    try:
        for field in PROPERTY_JSON_COLUMNS:
            cols[field] = _json_objects(list(map(attrgetter(field), props)))
    except ValueError:  # a property field that is not an object: the row path names it
        return None
    return cols


def _in_time_range(arr) -> bool:
    """Every (non-null) timestamp of `arr` lies in TIME_RANGE."""
    import pyarrow.compute as pc

    if arr.null_count == len(arr):
        return True
    bounds = pc.min_max(arr.cast("int64"))
    return bounds["min"].as_py() >= MIN_TIME_US and bounds["max"].as_py() <= MAX_TIME_US


def _json_objects(raws: list):
    """Property objects (msgspec.Raw each, `null` when absent) as their JSON text, one
    buffer, no Python object per value; ValueError when one is not an object (the row path
    then names it). PostgreSQL turns them into property rows at load (jsonb_each_text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = _joined(raws)
    text = pc.if_else(pc.equal(text, "null"), pa.scalar(None, pa.string()), text)
    if pc.any(pc.invert(pc.starts_with(text, "{"))).as_py():
        raise ValueError("a property field that is not an object")
    return text


def _joined(raws: list):
    """Raw JSON values -> a trimmed string array, via one joined buffer and offsets."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, raws), dtype=np.int64, count=len(raws)), out=offsets[1:])
    binary = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(raws), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(raws))]
    )
    return pc.utf8_trim_whitespace(binary.cast(pa.large_string())).cast(pa.string())


def _raw_texts(raws: list) -> object:
    """_raw_text over many values, vectorized in Arrow; only escaped strings take Python.
    The raw JSON texts are joined into one buffer with offsets (no bytes object per value)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = _joined(raws)
    is_string = pc.starts_with(text, '"')
    out = pc.if_else(is_string, pc.utf8_slice_codeunits(text, 1, -1), text)
    out = pc.if_else(pc.equal(text, "null"), pa.scalar(None, pa.string()), out)
    escaped = pc.and_(is_string, pc.match_substring(text, "\\"))
    if escaped.true_count:
        where = pc.indices_nonzero(escaped).to_pylist()
        decoded = pa.array([_STRING.decode(bytes(raws[i]).strip()) for i in where], pa.string())
        mask = np.zeros(len(raws), dtype=bool)
        mask[where] = True
        out = pc.replace_with_mask(out, pa.array(mask), decoded)
    return out


def _events_columns(events: list[Event]) -> dict:
    import pyarrow as pa

    events_schema = _events_schema()
    cols = {
        name: pa.array([getattr(e, name) for e in events], events_schema.field(name).type)
        for name in RAW_EVENT_COLUMNS
        if name not in ("event_key", "member", "line_number")
    }
    cols["event_key"] = pa.array([e.insert_id or e.uuid for e in events], pa.string())
    for i, field in enumerate(PROPERTY_JSON_COLUMNS):
        cols[field] = pa.array([e.property_json[i] for e in events], pa.string())
    return cols


def parse_lines(member: str, first_line: int, lines: list[bytes]) -> ParsedBatch:
    """Lines `first_line`, `first_line + 1`, ... of `member` -> one ParsedBatch. A clean
    batch is read in bulk (`_clean_batch`); otherwise each line is decoded typed on its own
    and the lines that fail even that go through `parse_line`, the reference."""
    import pyarrow as pa

    events_schema = _events_schema()
    fast_numbers, fast, slow, parts = [], [], [], []
    clean = None
    if (
        lines
        and all(lines)
        and not any(isinstance(line, Oversized) for line in lines)
        and not any(UNSTORABLE_ESCAPES.search(line) for line in lines)
    ):
        clean = _clean_batch(lines)
    if clean is not None:
        parts.append((clean, range(first_line, first_line + len(lines))))
    else:  # some line is not a clean typed event: sort them out one by one
        for number, line in (
            (first_line + i, line) for i, line in enumerate(lines) if line and not line.isspace()
        ):
            try:
                if isinstance(line, Oversized) or UNSTORABLE_ESCAPES.search(line):
                    raise msgspec.DecodeError("needs a closer look")
                fast.append(_TYPED.decode(line))
                fast_numbers.append(number)
            except (msgspec.DecodeError, RecursionError):
                slow.append((number, line))
    if fast:
        try:
            parts.append((_bulk(fast), fast_numbers))
        except (ValueError, TypeError, OverflowError, pa.ArrowException):
            by_number = {first_line + i: line for i, line in enumerate(lines)}
            slow = sorted(slow + [(n, by_number[n]) for n in fast_numbers])
    bad: list[Quarantined] = []
    if slow:
        typed, numbers = [], []
        for number, line in slow:
            item = parse_line(line, member, number)
            if isinstance(item, Quarantined):
                bad.append(item)
            else:
                typed.append(item)
                numbers.append(number)
        if typed:
            parts.append((_events_columns(typed), numbers))
    event_batches = []
    for cols, numbers in parts:
        cols["member"] = pa.array([member] * len(numbers), pa.string())
        cols["line_number"] = pa.array(numbers, pa.int32())
        event_batches.append(
            pa.RecordBatch.from_arrays([cols[c] for c in EVENT_COLUMNS], schema=events_schema)
        )
    bad.sort(key=lambda q: q.line_number)
    return ParsedBatch(member, _one_batch(event_batches, events_schema), bad)


def _one_batch(batches: list, schema):
    import pyarrow as pa

    table = pa.Table.from_batches(batches, schema).combine_chunks()
    return (
        table.to_batches()[0] if table.num_rows else pa.RecordBatch.from_pylist([], schema=schema)
    )


class Oversized(bytes):
    """A line over AMPLITUDE_MAX_LINE_BYTES, as its first RAW_LINE_KEEP_BYTES bytes (the line
    itself is read past, never held); `size` is its full length. parse_lines quarantines
    it with `reason`."""

    size: int
    reason: str


def _oversized(head: bytes, size: int, limit: int) -> Oversized:
    line = Oversized(head)
    line.size = size
    line.reason = f"line of {size} bytes is over AMPLITUDE_MAX_LINE_BYTES ({limit}): not parsed"
    return line


class MemberTooLarge(Exception):
    """A gzip member inflates past its budget (a zip bomb?): it is not read further."""

    def __init__(self, budget: int, ratio: float, compressed: int):
        ratio_text = f"{ratio:g}"
        super().__init__(
            f"gzip member inflates past {budget} bytes (AMPLITUDE_MAX_INFLATE_RATIO "
            f"{ratio_text} x its {compressed} bytes in the zip): a zip bomb? not read further"
        )


@dataclass(frozen=True)
class ParseLimits:
    """The parse's bounds in bytes (settings.py; read from the environment per zip)."""

    max_line_bytes: int
    max_inflate_ratio: float
    inflate_floor_bytes: int
    batch_bytes: int

    @classmethod
    def from_env(cls) -> ParseLimits:
        return cls(
            settings.max_line_bytes(),
            settings.max_inflate_ratio(),
            settings.inflate_floor_bytes(),
            settings.batch_bytes(),
        )

    def member_budget(self, compressed: int) -> int:
        """How many bytes a member of `compressed` bytes in the zip may inflate to."""
        return max(int(self.max_inflate_ratio * compressed), self.inflate_floor_bytes)


def iter_member_lines(
    zf: zipfile.ZipFile,
    name: str,
    batch_lines: int = BATCH_LINES,
    limits: ParseLimits | None = None,
) -> Iterator[tuple[int, list[bytes]]]:
    """(first line number, lines) of a gzip member, read in chunks: at most `batch_lines`
    lines and about `batch_bytes` bytes at a time (a batch ends with the line that reaches
    it), batches of blank lines left out. A line over `max_line_bytes` comes as an
    Oversized (its head and length): memory is bounded by the batch and one line, whatever
    the member holds. Raises MemberTooLarge when the member inflates past its budget, and
    EOFError/OSError/zlib.error when it is truncated or corrupt."""
    limits = limits or ParseLimits.from_env()
    info = zf.getinfo(name)
    budget = limits.member_budget(info.compress_size)
    max_line, keep, max_batch = (
        limits.max_line_bytes,
        settings.RAW_LINE_KEEP_BYTES,
        limits.batch_bytes,
    )
    pending: list[bytes] = []  # the batch being filled, from line `first`
    pending_bytes, first = 0, 1
    pieces: list[bytes] = []  # the current line so far (not yet ended by a newline)
    piece_bytes = 0
    head: bytes | None = None  # the current line is over max_line: its first bytes ...
    size = 0  # ... and its length so far

    def extend(data: bytes) -> None:  # more of the current line
        nonlocal piece_bytes, head, size, pieces
        if head is not None:
            size += len(data)
            if len(head) < keep:
                head += data[: keep - len(head)]
            return
        pieces.append(data)
        piece_bytes += len(data)
        if piece_bytes > max_line:  # from now on only its head and length are kept
            joined = b"".join(pieces)
            head, size, pieces, piece_bytes = joined[:keep], piece_bytes, [], 0

    def end_line() -> bytes:  # the current line is complete
        nonlocal piece_bytes, head, size, pieces
        if head is not None:
            line = _oversized(head, size, max_line)
        else:
            line = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        pieces, piece_bytes, head, size = [], 0, None, 0
        return line

    def flush() -> Iterator[tuple[int, list[bytes]]]:
        nonlocal pending, pending_bytes, first
        if any(pending):  # a batch of blank lines carries nothing
            yield first, pending
        first += len(pending)
        pending, pending_bytes = [], 0

    def add(lines: list[bytes]) -> Iterator[tuple[int, list[bytes]]]:
        nonlocal pending, pending_bytes
        pos = 0
        while pos < len(lines):
            part = lines[pos : pos + batch_lines - len(pending)]
            part_bytes = sum(map(len, part))
            if pending_bytes + part_bytes >= max_batch:  # up to the line that reaches it
                sizes = list(accumulate(map(len, part), initial=pending_bytes))
                cut = bisect_left(sizes, max_batch, lo=1)
                part, part_bytes = part[:cut], sizes[cut] - pending_bytes
            pending.extend(part)
            pending_bytes += part_bytes
            pos += len(part)
            if len(pending) >= batch_lines or pending_bytes >= max_batch:
                yield from flush()

    inflated = 0
    with zf.open(name) as raw, gzip.GzipFile(fileobj=raw) as gz:
        while chunk := gz.read(CHUNK):
            inflated += len(chunk)
            if inflated > budget:
                raise MemberTooLarge(budget, limits.max_inflate_ratio, info.compress_size)
            parts = chunk.split(b"\n")
            if len(parts) == 1:
                extend(chunk)
                continue
            extend(parts[0])
            lines = [end_line()]
            middle = parts[1:-1]
            if middle and max(map(len, middle)) > max_line:
                middle = [
                    line if len(line) <= max_line else _oversized(line[:keep], len(line), max_line)
                    for line in middle
                ]
            lines += middle
            extend(parts[-1])
            yield from add(lines)
        if piece_bytes or head is not None:  # the last line had no newline
            yield from add([end_line()])
        yield from flush()


def iter_batches(
    zip_path: Path, batch_lines: int = BATCH_LINES, limits: ParseLimits | None = None
) -> Iterator[ParsedBatch | MemberFailed]:
    """Every member of an export zip as ParsedBatch items; MemberFailed after the batches
    of a member that turned out corrupt or too large when inflated (see module doc)."""
    limits = limits or ParseLimits.from_env()
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            try:
                for first, lines in iter_member_lines(zf, info.filename, batch_lines, limits):
                    yield parse_lines(info.filename, first, lines)
            except MemberTooLarge as exc:
                yield MemberFailed(info.filename, str(exc))
            except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
                yield MemberFailed(
                    info.filename, f"corrupt gzip member: {type(exc).__name__}: {exc}"
                )


def batch_events(batch: ParsedBatch) -> list[Event]:
    """A ParsedBatch as Event objects (for tests and small tools); `properties` are the
    rows of each property object, as the load makes them (modulo JSON formatting of
    nested values, which PostgreSQL's jsonb normalizes)."""
    out = []
    for row in batch.events.to_pylist():
        texts = tuple(row.pop(field) for field in PROPERTY_JSON_COLUMNS)
        row.pop("event_key")
        props = tuple(
            EventProperty(ptype, k, _raw_text(v))
            for (ptype, _), text in zip(PROPERTY_FIELDS, texts)
            if text is not None
            for k, v in _PROPS.decode(text).items()
        )
        out.append(Event(**row, properties=props, property_json=texts))
    return out


def iter_events(zip_path: Path) -> Iterator[Event | Quarantined]:
    """The same parse as Event/Quarantined objects in line order, a member at a time."""
    pending: list = []
    for item in iter_batches(zip_path):
        if isinstance(item, MemberFailed):
            pending = [p for p in pending if p.member != item.member]
            yield from pending
            pending = []
            yield Quarantined(item.member, None, item.reason, None)
            continue
        if pending and pending[0].member != item.member:
            yield from pending
            pending = []
        pending.extend(
            sorted([*batch_events(item), *item.quarantined], key=lambda x: x.line_number)
        )
    yield from pending
