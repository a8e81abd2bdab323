"""The Amplitude export parser on small zips built here (no server, no project generator)."""

import gzip
import json
import zipfile
from datetime import UTC, datetime

from include.sources.amplitude.parser import Event, EventProperty, Quarantined, iter_events


def _event(**over):
    event = {
        "$insert_id": "ins-1",
        "uuid": "u-1",
        "event_id": 7,
        "amplitude_id": 123456789,
        "user_id": "zoë",
        "device_id": "dev-1",
        "session_id": 1709251200000,
        "event_time": "2024-03-01 00:10:00.123456",
        "client_event_time": "2024-03-01 00:09:59.000000",
        "server_upload_time": "2024-03-01 00:15:00.5",
        "event_type": "Añadir al carrito",
        "event_properties": {
            "item": {"name": "Phở", "tags": ["ñ", 1]},
            "price": 12.5,
            "ok": True,
            "none": None,
        },
        "user_properties": {"city": "São Paulo"},
        "group_properties": {"company": {"Café": {"tier": "gold"}}},
        "groups": {"company": ["Café"]},
        "data": {"path": "/2/httpapi"},
        "platform": "iOS",
        "os_name": "ios",
        "country": "Japan",
        "city": "東京",
        "paying": False,
    }
    event.update(over)
    return {k: v for k, v in event.items() if v is not ...}


def _lines(*items) -> bytes:
    return b"".join(
        (i if isinstance(i, bytes) else json.dumps(i, ensure_ascii=False).encode()) + b"\n"
        for i in items
    )


def _zip(tmp_path, members: dict[str, bytes]):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_typed_event_with_unicode_and_nested_properties(tmp_path):
    path = _zip(tmp_path, {"1/1_2024-03-01_0#0.json.gz": gzip.compress(_lines(_event()))})
    [event] = list(iter_events(path))
    assert isinstance(event, Event)
    assert event.member == "1/1_2024-03-01_0#0.json.gz" and event.line_number == 1
    assert (event.insert_id, event.uuid, event.event_id, event.amplitude_id) == (
        "ins-1",
        "u-1",
        7,
        123456789,
    )
    assert event.user_id == "zoë" and event.city == "東京" and event.paying is False
    assert event.event_type == "Añadir al carrito"
    assert event.event_time == datetime(2024, 3, 1, 0, 10, 0, 123456, tzinfo=UTC)
    assert event.server_upload_time == datetime(2024, 3, 1, 0, 15, 0, 500000, tzinfo=UTC)
    assert event.client_event_time.tzinfo is not None
    props = {(p.property_type, p.key): p.value for p in event.properties}
    assert json.loads(props[("event", "item")]) == {"name": "Phở", "tags": ["ñ", 1]}
    assert props[("event", "price")] == "12.5"
    assert props[("event", "ok")] == "true"
    assert props[("event", "none")] is None
    assert props[("user", "city")] == "São Paulo"
    assert json.loads(props[("group", "company")]) == {"Café": {"tier": "gold"}}
    assert json.loads(props[("groups", "company")]) == ["Café"]
    assert props[("data", "path")] == "/2/httpapi"
    assert all(isinstance(p, EventProperty) for p in event.properties)


def test_duplicates_are_kept_and_uuid_alone_is_enough(tmp_path):
    dup = _event()
    no_insert = _event(**{"$insert_id": ..., "uuid": "u-2"})
    path = _zip(
        tmp_path,
        {
            "a#0.json.gz": gzip.compress(_lines(dup, no_insert)),
            "a#1.json.gz": gzip.compress(_lines(dup)),
        },
    )
    events = list(iter_events(path))
    assert all(isinstance(e, Event) for e in events) and len(events) == 3
    assert [e.insert_id for e in events] == ["ins-1", None, "ins-1"]
    assert events[1].uuid == "u-2"
    assert [e.member for e in events] == ["a#0.json.gz", "a#0.json.gz", "a#1.json.gz"]


def test_quarantine_reasons(tmp_path):
    lines = _lines(
        _event(),
        b'{"$insert_id": "x", "event_time": ',
        _event(**{"$insert_id": ..., "uuid": ...}),
        _event(event_time=...),
        _event(event_time="yesterday"),
        [1, 2],
        b"\xff\xfe not utf8",
        b"",
        _event(**{"$insert_id": "last"}),
    )
    path = _zip(tmp_path, {"m#0.json.gz": gzip.compress(lines)})
    items = list(iter_events(path))
    quarantined = [i for i in items if isinstance(i, Quarantined)]
    assert [e.insert_id for e in items if isinstance(e, Event)] == ["ins-1", "last"]
    assert [(q.member, q.line_number, q.reason) for q in quarantined] == [
        ("m#0.json.gz", 2, "not JSON"),
        ("m#0.json.gz", 3, "missing $insert_id and uuid"),
        ("m#0.json.gz", 4, "missing event_time"),
        ("m#0.json.gz", 5, "bad event_time: 'yesterday'"),
        ("m#0.json.gz", 6, "not a JSON object"),
        ("m#0.json.gz", 7, "not UTF-8"),
    ]
    assert quarantined[0].raw_line == '{"$insert_id": "x", "event_time": '
    assert json.loads(quarantined[2].raw_line)["uuid"] == "u-1"


def test_truncated_member_is_quarantined_whole_and_iteration_goes_on(tmp_path):
    good = gzip.compress(_lines(_event(), _event(**{"$insert_id": "b"})))
    bad = gzip.compress(_lines(*[_event(**{"$insert_id": f"t{i}"}) for i in range(50)]))
    path = _zip(
        tmp_path,
        {
            "h#0.json.gz": bad[: len(bad) // 2],
            "h#1.json.gz": good,
            "h#2.json.gz": b"not gzip at all",
        },
    )
    items = list(iter_events(path))
    assert [(type(i).__name__, i.member) for i in items] == [
        ("Quarantined", "h#0.json.gz"),
        ("Event", "h#1.json.gz"),
        ("Event", "h#1.json.gz"),
        ("Quarantined", "h#2.json.gz"),
    ]
    for q in (items[0], items[3]):
        assert q.line_number is None and q.raw_line is None
        assert q.reason.startswith("corrupt gzip member")


def test_timezone_offsets_are_converted_to_utc(tmp_path):
    path = _zip(
        tmp_path,
        {"z.json.gz": gzip.compress(_lines(_event(event_time="2024-03-01T02:00:00+02:00")))},
    )
    [event] = list(iter_events(path))
    assert event.event_time == datetime(2024, 3, 1, 0, 0, tzinfo=UTC)


def _reference(line: bytes, member: str, number: int):
    """What the row-wise reference parser makes of one line (no bulk path involved)."""
    from include.sources.amplitude.parser import parse_line

    item = parse_line(line, member, number)
    return item if isinstance(item, Event) else item.reason


def test_bulk_path_agrees_with_the_reference_parser_on_odd_types(tmp_path):
    # A batch of ordinary events plus rows the bulk path cannot type: the bulk result must
    # equal parse_event's, row by row, and nothing may be silently coerced (a float id).
    odd = [
        _event(**{"$insert_id": "int-user"}, user_id=42),
        _event(**{"$insert_id": "str-paying"}, paying="true"),
        _event(**{"$insert_id": "float-id"}, event_id=1.5),
        _event(**{"$insert_id": "bool-id"}, amplitude_id=True),
        _event(**{"$insert_id": "offset"}, event_time="2024-03-01T01:00:00+01:00"),
        _event(**{"$insert_id": "empty-str"}, platform="", country=""),
        _event(**{"$insert_id": 99}),
        _event(**{"$insert_id": "huge"}, session_id=2**70),
        _event(**{"$insert_id": "props-list"}, event_properties=[1, 2]),
    ]
    plain = [_event(**{"$insert_id": f"p{i}"}, session_id=i) for i in range(20)]
    lines = [json.dumps(e, ensure_ascii=False).encode() for e in plain + odd]
    path = _zip(tmp_path, {"o.json.gz": gzip.compress(b"\n".join(lines))})
    got = {i.line_number: i if isinstance(i, Event) else i.reason for i in iter_events(path)}
    assert len(got) == len(lines)
    for number, line in enumerate(lines, start=1):
        assert got[number] == _reference(line, "o.json.gz", number), number
    assert got[len(plain) + 3] == "bad event_id: 1.5"
    assert got[len(plain) + 7].insert_id == "99"


def test_bulk_path_alone_matches_the_reference(tmp_path):
    # Only well-typed events: every row goes through the bulk path.
    events = [
        _event(
            **{"$insert_id": f"b{i}"},
            event_id=i,
            paying=bool(i % 2),
            user_properties={"n": i, "nested": {"z": 1, "a": [i, "é"]}},
        )
        for i in range(50)
    ]
    lines = [json.dumps(e, ensure_ascii=False).encode() for e in events]
    path = _zip(tmp_path, {"b.json.gz": gzip.compress(b"\n".join(lines) + b"\n")})
    got = list(iter_events(path))
    assert [g.line_number for g in got] == list(range(1, 51))
    for g, line in zip(got, lines):
        ref = _reference(line, "b.json.gz", g.line_number)
        assert g == ref
        assert sorted(g.properties, key=repr) == sorted(ref.properties, key=repr)


def test_nul_character_is_quarantined_not_loaded(tmp_path):
    path = _zip(
        tmp_path,
        {
            "n.json.gz": gzip.compress(
                _lines(_event(user_id="a\u0000b"), _event(**{"$insert_id": "ok"}))
            )
        },
    )
    items = list(iter_events(path))
    assert [type(i).__name__ for i in items] == ["Quarantined", "Event"]
    assert "NUL" in items[0].reason and "\\u0000" in items[0].raw_line


def test_batches_split_a_member_with_continuous_line_numbers(tmp_path):
    from include.sources.amplitude.parser import ParsedBatch, batch_events, iter_batches

    events = [_event(**{"$insert_id": f"s{i}"}) for i in range(25)]
    path = _zip(tmp_path, {"s.json.gz": gzip.compress(_lines(*events))})
    batches = list(iter_batches(path, batch_lines=10))
    assert [type(b) for b in batches] == [ParsedBatch] * 3
    numbers = [n for b in batches for n in b.events.column("line_number").to_pylist()]
    assert numbers == list(range(1, 26))
    assert sum(len(e.properties) for b in batches for e in batch_events(b)) == 25 * sum(
        len(events[0][f])
        for f in ("event_properties", "user_properties", "group_properties", "groups", "data")
    )


def test_long_integers_keep_every_digit(tmp_path):
    big = 123456789012345678901234567890
    path = _zip(
        tmp_path,
        {
            "g.json.gz": gzip.compress(
                _lines(_event(event_properties={"big": big}), _event(user_id="back\\u0000slash"))
            )
        },
    )
    first, second = list(iter_events(path))
    assert dict(((p.property_type, p.key), p.value) for p in first.properties)[
        ("event", "big")
    ] == str(big)
    assert second.user_id == "back\\u0000slash"  # an escaped backslash is not a NUL


def test_unpaired_surrogates_are_quarantined_and_escaped_pairs_load(tmp_path):
    lone = (
        b'{"$insert_id": "lone", "event_time": "2024-03-01 00:00:00", '
        b'"event_properties": {"deep": {"x": "\\ud800"}}}'
    )
    pair = (
        b'{"$insert_id": "pair", "event_time": "2024-03-01 00:00:00", '
        b'"event_properties": {"smile": "\\ud83d\\ude00"}}'
    )
    path = _zip(tmp_path, {"s.json.gz": gzip.compress(lone + b"\n" + pair + b"\n")})
    first, second = list(iter_events(path))
    assert isinstance(first, Quarantined) and "surrogate" in first.reason
    assert second.properties[0].value == "\U0001f600"


def test_a_property_field_that_is_not_an_object_is_quarantined_in_a_clean_batch(tmp_path):
    # Every other field of the batch is well typed, so only the property check can refuse it.
    events = [_event(**{"$insert_id": f"c{i}"}) for i in range(40)]
    events[17]["event_properties"] = [1, 2]
    path = _zip(tmp_path, {"c.json.gz": gzip.compress(_lines(*events))})
    items = list(iter_events(path))
    bad = [i for i in items if isinstance(i, Quarantined)]
    assert [(q.line_number, q.reason) for q in bad] == [(18, "event_properties is not an object")]
    assert sorted(e.insert_id for e in items if isinstance(e, Event)) == sorted(
        f"c{i}" for i in range(40) if i != 17
    )
