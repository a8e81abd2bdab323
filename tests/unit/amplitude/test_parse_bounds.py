"""The parser is bounded in bytes, not only in lines: a line over AMPLITUDE_MAX_LINE_BYTES is
quarantined with its length (never held whole), a gzip member that inflates past
AMPLITUDE_MAX_INFLATE_RATIO times its size in the zip is quarantined whole, a batch is cut
at AMPLITUDE_BATCH_BYTES, and a quarantined raw line keeps its first 8 kB and a note of its
length. Zips built here with zlib streaming (the inputs stay small), no server; the limits
are set small through the environment."""

import gzip
import json
import zipfile
import zlib

from include.sources.amplitude.parser import Event, Quarantined, iter_batches, iter_events


def _event(key: str, **over) -> bytes:
    event = {"$insert_id": key, "event_time": "2024-03-01 00:10:00", "event_type": "e"}
    event.update(over)
    return json.dumps(event).encode()


def _gzip_stream(parts, repeat_last: int = 0) -> bytes:
    """gzip of the concatenated parts, the last one `repeat_last` more times, streamed."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(p) for p in parts]
    out += [z.compress(parts[-1]) for _ in range(repeat_last)]
    out.append(z.flush())
    return b"".join(out)


def _zip(tmp_path, members: dict[str, bytes]):
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_line_over_the_limit_is_quarantined_with_its_length_and_the_rest_loads(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("AMPLITUDE_MAX_LINE_BYTES", "20000")
    long_line = _event("long", event_properties={"blob": "x" * 50_000})
    tail = b'{"$insert_id": "tail", "no newline": "' + b"y" * 30_000  # last line, unterminated
    data = _gzip_stream([_event("a") + b"\n", long_line + b"\n", _event("b") + b"\n", tail])
    path = _zip(tmp_path, {"m#0.json.gz": data, "m#1.json.gz": gzip.compress(_event("c"))})
    items = list(iter_events(path))
    assert [(type(i).__name__, i.line_number) for i in items] == [
        ("Event", 1),
        ("Quarantined", 2),
        ("Event", 3),
        ("Quarantined", 4),
        ("Event", 1),
    ]
    for q, line in ((items[1], long_line), (items[3], tail)):
        assert q.reason == (
            f"line of {len(line)} bytes is over AMPLITUDE_MAX_LINE_BYTES (20000): not parsed"
        )
        # the first 8 kB of the line as received, and a note of its length
        assert q.raw_line == line[:8192].decode() + f" ... [8192 of {len(line)} bytes kept]"


def test_a_quarantined_raw_line_keeps_its_first_8_kb_and_a_note_of_its_length(tmp_path):
    broken = b'{"$insert_id": "broken", "event_time": "' + b"z" * 100_000  # not JSON
    path = _zip(tmp_path, {"m#0.json.gz": gzip.compress(broken + b"\n" + _event("ok"))})
    bad, good = list(iter_events(path))
    assert isinstance(good, Event) and good.insert_id == "ok"
    assert isinstance(bad, Quarantined) and bad.reason == "not JSON"
    assert bad.raw_line == broken[:8192].decode() + f" ... [8192 of {len(broken)} bytes kept]"


def test_a_member_that_inflates_past_the_ratio_is_quarantined_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("AMPLITUDE_MAX_INFLATE_RATIO", "100")
    monkeypatch.setenv("AMPLITUDE_INFLATE_FLOOR_BYTES", str(1 << 20))
    # ~30 kB of gzip that inflates to 30 MiB: a good line, then zeros (no newline), or
    # newlines (thirty million empty lines).
    for filler in (b"\0" * (1 << 20), b"\n" * (1 << 20)):
        bomb = _gzip_stream([_event("first") + b"\n", filler], repeat_last=29)
        path = _zip(
            tmp_path,
            {
                "h#0.json.gz": gzip.compress(_event("before")),
                "h#1.json.gz": bomb,
                "h#2.json.gz": gzip.compress(_event("after")),
            },
        )
        items = list(iter_events(path))
        assert [(type(i).__name__, i.member) for i in items] == [
            ("Event", "h#0.json.gz"),
            ("Quarantined", "h#1.json.gz"),
            ("Event", "h#2.json.gz"),
        ]
        q = items[1]
        assert q.line_number is None and q.raw_line is None
        limit = 100 * len(bomb)
        assert q.reason == (
            f"gzip member inflates past {max(limit, 1 << 20)} bytes (AMPLITUDE_MAX_INFLATE_RATIO "
            f"100 x its {len(bomb)} bytes in the zip): a zip bomb? not read further"
        )


def test_batches_are_cut_in_bytes_as_well_as_lines(tmp_path, monkeypatch):
    monkeypatch.setenv("AMPLITUDE_BATCH_BYTES", str(1 << 20))
    lines = [_event(f"k{i}", event_properties={"pad": "p" * 100_000}) for i in range(40)]
    path = _zip(tmp_path, {"w#0.json.gz": gzip.compress(b"\n".join(lines))})
    batches = list(iter_batches(path))
    assert len(batches) > 1
    numbers = [n for b in batches for n in b.events.column("line_number").to_pylist()]
    assert numbers == list(range(1, 41))
    line_bytes = len(lines[0])
    for b in batches:
        # a batch stops at the first line that reaches the byte budget
        assert b.events.num_rows * line_bytes < (1 << 20) + line_bytes


def test_a_bomb_at_the_zip_level_is_caught_too(tmp_path, monkeypatch):
    # A gzip member stored (level 0) in a deflated zip entry: the gzip stream inflates 1:1,
    # the zip entry ~1000:1; the budget is taken from the member's size in the zip.
    monkeypatch.setenv("AMPLITUDE_MAX_INFLATE_RATIO", "100")
    monkeypatch.setenv("AMPLITUDE_INFLATE_FLOOR_BYTES", str(1 << 20))
    member = gzip.compress(_event("first") + b"\n" + b"\0" * (30 << 20), compresslevel=0)
    path = tmp_path / "z.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("z#0.json.gz", member)
        zf.writestr("z#1.json.gz", gzip.compress(_event("after")))
    bomb, after = list(iter_events(path))
    assert isinstance(bomb, Quarantined) and "zip bomb" in bomb.reason
    assert isinstance(after, Event) and after.insert_id == "after"


def test_a_line_nested_too_deeply_is_quarantined_on_every_path(tmp_path):
    # 50,000 nested arrays in a property (100 kB, under the line limit): msgspec stops at
    # Python's recursion limit with RecursionError, which escaped and failed the whole day.
    deep = _event("deep").replace(b"}", b', "event_properties": {"a": ' + b"[" * 50_000, 1)
    deep += b"]" * 50_000 + b"}}"
    good = [_event(f"g{i}") for i in range(20)]
    for lines in (good + [deep], [b"not json"] + good + [deep]):  # clean batch / per line
        items = list(iter_events(_zip(tmp_path, {"d#0.json.gz": gzip.compress(b"\n".join(lines))})))
        bad = [i for i in items if isinstance(i, Quarantined)]
        assert [i.insert_id for i in items if isinstance(i, Event)] == [f"g{i}" for i in range(20)]
        assert bad[-1].line_number == len(lines)
        assert bad[-1].reason.startswith("JSON nested too deeply")
