"""Amplitude: zip to loaded rows. Events/s and peak RSS at two day sizes 10x apart, against a
`json.loads` + `executemany` baseline, plus the parse-only rate against bare `json.loads`.

    eval "$(make -s env)"; .venv/bin/python benchmarks/amplitude_benchmark.py [--events 100000]

Data (not timed): an export zip per size, built the way Amplitude sends it (members stored,
each a gzipped NDJSON file of --member-lines lines, named `<project>_<day>_<hour>#<n>`).
Events come from a pool of realistic events made by the local Export API
(`local.sources.amplitude.hour_events`: nested properties, unicode, ~900 bytes
a line; every 7th has no `$insert_id`, only a `uuid`), each generated event with its own
ids and times; 2% of the lines repeat an earlier line (the same `$insert_id` or `uuid`,
mostly in an earlier member), as Amplitude can send. Events/s counts the lines of the zip.

End to end (zip on disk -> rows committed in source_db), each path and size in a fresh
child process, so peak RSS is per path and size (the child's VmHWM; `ru_maxrss` is not
used because a child started by `subprocess` inherits the parent's high-water mark):
* ours: `include.sources.amplitude.load.load_day` into raw.amplitude_event / _property /
  _quarantine for export day 2099-01-01 (small) and 2099-01-02 (large);
* baseline: each member gunzipped and iterated line by line, `json.loads` per line, rows
  built in Python (property values as text: strings as they are, other values
  `json.dumps`), `executemany` `INSERT ... ON CONFLICT DO NOTHING` of events, then of
  their property rows, 10,000 lines at a time, one transaction, into tables made `LIKE`
  the raw ones (same columns, keys, indexes and foreign key) in schema `bench_amplitude`.
Both must load the expected distinct events and property rows (the count is printed; a
mismatch is an error), and where both ran at a size their rows are compared in full.
The executemany baseline runs at the small size only by default (it is slow, and events/s
is a rate); `--baseline-sizes both` runs it at both.

Parse only (in this process, on the small size's decompressed lines held in memory):
`include.sources.amplitude.parse_lines` over 10,000-line batches against
`[json.loads(line) for line in batch]` over the same batches (and bare `orjson.loads`, for
reference), interleaved, best of --repeat, with the garbage collector on as in a real run
(the lists of dicts `json.loads` builds make it collect often; that is part of its cost).

Targets: end to end >= 3x the baseline's events/s; parse only >= 1.5x bare `json.loads`;
ours' peak RSS flat within 20% across the sizes. A missed target is reported, not an error.
The rows, the scratch schema and the zips are removed at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMA = "bench_amplitude"
DAYS = (date(2099, 1, 1), date(2099, 1, 2))  # export_day of the small / large size (ours)
PROJECT = "187520"
POOL_SIZE = 3000
DUP_EVERY, DUP_AT = 50, 17  # line i repeats an earlier line when i % 50 == 17 (2%)
PROPERTY_FIELDS = (
    ("event", "event_properties"),
    ("user", "user_properties"),
    ("group", "group_properties"),
    ("groups", "groups"),
    ("data", "data"),
)
TARGET_E2E, TARGET_PARSE, TARGET_RSS = 3.0, 1.5, 0.20
# The placeholders the pool's JSON lines carry for the values each generated event varies.
_PLACEHOLDERS = {
    "$insert_id": "iid",
    "uuid": "uuid",
    "event_id": "eid",
    "event_time": "et",
    "client_event_time": "ct",
    "server_upload_time": "ut",
}


# --- data ------------------------------------------------------------------------------


def pool() -> list[tuple[str, int]]:
    """(str.format template of one JSON line, number of property rows) for POOL_SIZE
    realistic events from the local Export API, ids and times left as placeholders."""
    from local.sources.amplitude import _line, hour_events

    out, hour = [], datetime(2024, 1, 15, tzinfo=UTC)
    while len(out) < POOL_SIZE:
        for event in hour_events(hour):
            event = dict(event)
            for field, name in _PLACEHOLDERS.items():
                if field in event:
                    event[field] = f"@@{name}@@"
            text = _line(event).decode().replace("{", "{{").replace("}", "}}")
            for name in _PLACEHOLDERS.values():
                text = text.replace(f'"@@{name}@@"', f"{{{name}}}")
            n_props = sum(len(event.get(field) or {}) for _, field in PROPERTY_FIELDS)
            out.append((text, n_props))
        hour += timedelta(hours=1)
    return out[:POOL_SIZE]


def _is_dup(i: int) -> bool:
    return i % DUP_EVERY == DUP_AT


def _source(i: int, member_lines: int) -> int:
    """The index of the (non-duplicate) line that line i is: itself, or the earlier line it
    repeats (one member back when there is one, else half way back)."""
    while _is_dup(i):
        i = i - member_lines if i >= member_lines else i // 2
    return i


def _clock(day_text: str, us: int) -> str:
    s, frac = divmod(us, 1_000_000)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{day_text} {h:02d}:{m:02d}:{s:02d}.{frac:06d}"


def make_zip(path: Path, n: int, day: date, member_lines: int, templates) -> dict:
    """Write the export zip of n lines for `day`; the distinct events and property rows
    it must load to."""
    day_text, d = day.isoformat(), day.toordinal() & 0xFFFF
    day_us, pool_n = 86_400_000_000, len(templates)

    def fresh(i: int) -> bytes:
        template, _ = templates[i % pool_n]
        up = min(i * day_us // n + (i * 7919) % 1_000_000, day_us - 1)
        et = up - min((i * 104_729) % 900_000_000, up)
        ct = et - min((i * 31) % 5000 * 1000, et)
        return template.format(
            iid=f'"{i:08x}-{d:04x}-4a1e-8b2c-{(i * 2654435761) % (1 << 48):012x}"',
            uuid=f'"{(i * 40503) % (1 << 32):08x}-{d:04x}-4f00-9e00-{i:012x}"',
            eid=i + 1,
            et=f'"{_clock(day_text, et)}"',
            ct=f'"{_clock(day_text, ct)}"',
            ut=f'"{_clock(day_text, up)}"',
        ).encode()

    distinct = props = 0
    n_members = -(-n // member_lines)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for k in range(n_members):
            chunk = []
            for i in range(k * member_lines, min((k + 1) * member_lines, n)):
                if _is_dup(i):  # the same line again (deterministic, so made again)
                    chunk.append(fresh(_source(i, member_lines)))
                    continue
                chunk.append(fresh(i))
                distinct += 1
                props += templates[i % pool_n][1]
            hour = k * 24 // n_members
            info = zipfile.ZipInfo(
                f"{PROJECT}/{PROJECT}_{day_text}_{hour}#{k}.json.gz",
                date_time=(day.year, day.month, day.day, hour, 0, 0),
            )
            zf.writestr(info, gzip.compress(b"".join(chunk), compresslevel=6, mtime=0))
    return {
        "lines": n,
        "distinct": distinct,
        "properties": props,
        "members": n_members,
        "zip_mb": path.stat().st_size / 2**20,
    }


# --- child processes: one end-to-end load each ------------------------------------------


def hwm_mb() -> float:
    """Peak RSS of this process (VmHWM: per address space, so not the parent's)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child_ours(zip_path: Path, day: date) -> dict:
    import pyarrow
    import pyarrow.compute
    import pyarrow.csv  # noqa: F401

    import include.sources.amplitude  # noqa: F401
    from include.connections import pg_connect
    from include.sources.amplitude.load import load_day

    with pg_connect("source_db", autocommit=True) as conn:
        before = hwm_mb()
        start = time.perf_counter()
        result = load_day(conn, day, [(f"bench/amplitude/dt={day}/{zip_path.name}", zip_path)])
        seconds = time.perf_counter() - start
        peak = hwm_mb()
    return {
        "seconds": seconds,
        "before_mb": before,
        "peak_mb": peak,
        "events": result.events,
        "properties": result.properties,
        "quarantined": result.quarantined,
        "duplicates": result.duplicates,
    }


EVENT_FIELDS = (
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
)
TIMES = ("event_time", "client_event_time", "server_upload_time")


def child_baseline(zip_path: Path, day: date, batch_lines: int = 10_000) -> dict:
    from include.connections import pg_connect

    archive = f"bench/amplitude/dt={day}/{zip_path.name}"
    cols = ("export_day", "archive_key", "event_key", *EVENT_FIELDS, "member", "line_number")
    marks = ", ".join("%s::timestamp at time zone 'UTC'" if c in TIMES else "%s" for c in cols)
    insert_event = (
        f"insert into {SCHEMA}.amplitude_event ({', '.join(cols)}) values "
        f"({marks}) on conflict do nothing"
    )
    insert_prop = (
        f"insert into {SCHEMA}.amplitude_event_property (export_day, event_key, "
        "property_type, key, value) values (%s, %s, %s, %s, %s) "
        "on conflict do nothing"
    )
    keys = [("$insert_id" if f == "insert_id" else f) for f in EVENT_FIELDS]
    lines = 0
    with pg_connect("source_db", autocommit=True) as conn:
        before = hwm_mb()
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:

            def flush(events, props):
                cur.executemany(insert_event, events)
                cur.executemany(insert_prop, props)
                events.clear()
                props.clear()

            with zipfile.ZipFile(zip_path) as zf:
                for info in zf.infolist():
                    events, props = [], []
                    with zf.open(info) as raw, gzip.GzipFile(fileobj=raw) as gz:
                        for number, line in enumerate(gz, 1):
                            if not line.strip():
                                continue
                            obj = json.loads(line)
                            lines += 1
                            key = obj.get("$insert_id") or obj.get("uuid")
                            events.append(
                                (
                                    day,
                                    archive,
                                    key,
                                    *[obj.get(k) for k in keys],
                                    info.filename,
                                    number,
                                )
                            )
                            for ptype, field in PROPERTY_FIELDS:
                                for k, v in (obj.get(field) or {}).items():
                                    props.append(
                                        (
                                            day,
                                            key,
                                            ptype,
                                            k,
                                            v
                                            if v is None or isinstance(v, str)
                                            else json.dumps(v, ensure_ascii=False),
                                        )
                                    )
                            if len(events) >= batch_lines:
                                flush(events, props)
                    if events:
                        flush(events, props)
        seconds = time.perf_counter() - start
        peak = hwm_mb()
        events_n, props_n = conn.execute(
            f"select (select count(*) from {SCHEMA}.amplitude_event where export_day = %s), "
            f"(select count(*) from {SCHEMA}.amplitude_event_property where export_day = %s)",
            (day, day),
        ).fetchone()
    return {
        "seconds": seconds,
        "before_mb": before,
        "peak_mb": peak,
        "events": events_n,
        "properties": props_n,
        "quarantined": 0,
        "duplicates": lines - events_n,
    }


def run_child(path: str, zip_path: Path, day: date) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            path,
            "--zip",
            str(zip_path),
            "--day",
            day.isoformat(),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode:
        sys.exit(f"{path} load of {zip_path.name} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- parse only ------------------------------------------------------------------------


def parse_only(zip_path: Path, repeat: int, batch_lines: int = 10_000) -> dict:
    import orjson

    from include.sources.amplitude.parser import iter_member_lines, parse_lines

    with zipfile.ZipFile(zip_path) as zf:
        batches = [
            (info.filename, first, lines)
            for info in zf.infolist()
            for first, lines in iter_member_lines(zf, info.filename, batch_lines)
        ]
    n = sum(len(lines) for _, _, lines in batches)

    def ours():
        rows = 0
        for member, first, lines in batches:
            parsed = parse_lines(member, first, lines)
            if parsed.quarantined:
                raise RuntimeError(
                    f"parse_lines quarantined {len(parsed.quarantined)} lines: "
                    f"{parsed.quarantined[0].reason}"
                )
            rows += parsed.events.num_rows
        return rows

    def stdlib():
        rows = 0
        for _, _, lines in batches:
            rows += len([json.loads(line) for line in lines])
        return rows

    def fast():
        rows = 0
        for _, _, lines in batches:
            rows += len([orjson.loads(line) for line in lines])
        return rows

    best = {}
    ours()  # warm-up: first Arrow/msgspec use
    for _ in range(repeat):  # interleaved: noise hits every method alike
        for name, fn in (("parse_lines", ours), ("json.loads", stdlib), ("orjson.loads", fast)):
            start = time.perf_counter()
            rows = fn()
            seconds = time.perf_counter() - start
            if rows != n:
                raise RuntimeError(f"{name} gave {rows} rows for {n} lines")
            best.setdefault(name, []).append(seconds)
    return {
        "lines": n,
        "mb": sum(map(len, (line for _, _, ls in batches for line in ls))) / 2**20,
        "seconds": best,
    }


# --- the run ---------------------------------------------------------------------------


def setup_baseline_schema(conn) -> None:
    conn.execute(f"drop schema if exists {SCHEMA} cascade")
    conn.execute(f"create schema {SCHEMA}")
    conn.execute(f"create table {SCHEMA}.amplitude_event (like raw.amplitude_event including all)")
    # The same shape as raw (keys, checks; no foreign key since V006), so both paths pay
    # the same server-side index work.
    conn.execute(
        f"create table {SCHEMA}.amplitude_event_property (like "
        "raw.amplitude_event_property including all)"
    )


def delete_ours(conn, day: date) -> None:
    # The day's property partition (V007) goes whole; rows of the day elsewhere by delete.
    conn.execute(f"drop table if exists raw.amplitude_event_property_d{day:%Y%m%d}")
    conn.execute("delete from raw.amplitude_event_property where export_day = %s", (day,))
    conn.execute("delete from raw.amplitude_event where export_day = %s", (day,))
    conn.execute("delete from raw.amplitude_quarantine where export_day = %s", (day,))


def compare_rows(conn, day: date) -> tuple[int, int]:
    """Rows in one path's tables and not the other's (both ways): (events, properties)."""
    cols = ", ".join(("event_key", *EVENT_FIELDS, "member", "line_number"))
    ev = conn.execute(
        f"select count(*) from ((select {cols} from raw.amplitude_event where export_day = %s "
        f"except all select {cols} from {SCHEMA}.amplitude_event where export_day = %s) "
        f"union all (select {cols} from {SCHEMA}.amplitude_event where export_day = %s "
        f"except all select {cols} from raw.amplitude_event where export_day = %s)) d",
        (day,) * 4,
    ).fetchone()[0]
    # Nested values are JSON text in both, formatted differently (jsonb normalizes spacing
    # and key order; the baseline writes json.dumps): compare those as jsonb.
    pcols = (
        "event_key, property_type, key, case when left(value, 1) in ('{', '[') "
        "then value::jsonb::text else value end"
    )
    pr = conn.execute(
        f"select count(*) from ((select {pcols} from raw.amplitude_event_property where "
        f"export_day = %s except all select {pcols} from {SCHEMA}.amplitude_event_property "
        f"where export_day = %s) union all (select {pcols} from "
        f"{SCHEMA}.amplitude_event_property where export_day = %s except all select "
        f"{pcols} from raw.amplitude_event_property where export_day = %s)) d",
        (day,) * 4,
    ).fetchone()[0]
    return ev, pr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--events", type=int, default=100_000, help="lines of the small day; the large day is 10x"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="parse-only: interleaved repetitions, best reported"
    )
    parser.add_argument(
        "--baseline-sizes",
        choices=("small", "both"),
        default="small",
        help="sizes the executemany baseline runs at (default: small)",
    )
    parser.add_argument(
        "--member-lines", type=int, default=50_000, help="lines per gzip member of the zip"
    )
    parser.add_argument("--child", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--zip", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--day", type=date.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.events < 1_000 or args.repeat < 1 or args.member_lines < 1:
        parser.error("--events must be >= 1000, --repeat and --member-lines >= 1")
    if args.child:
        fn = child_ours if args.child == "ours" else child_baseline
        print(json.dumps(fn(args.zip, args.day)))
        return

    from include.connections import pg_connect
    from include.migrations import migrate

    migrate()
    sizes = (args.events, args.events * 10)
    baseline_sizes = sizes if args.baseline_sizes == "both" else sizes[:1]
    results: dict[tuple[str, int], dict] = {}
    made, compared = {}, {}
    templates = pool()
    with (
        tempfile.TemporaryDirectory(prefix="amplitude-bench-") as tmp,
        pg_connect("source_db", autocommit=True) as conn,
    ):
        try:
            setup_baseline_schema(conn)
            for n, day in zip(sizes, DAYS):
                start = time.perf_counter()
                zip_path = Path(tmp) / f"amplitude_{day:%Y%m%d}_{n}.zip"
                made[n] = make_zip(zip_path, n, day, args.member_lines, templates)
                made[n]["gen_seconds"] = time.perf_counter() - start
                print(
                    f"generated {n:,} lines: {made[n]['members']} members, "
                    f"{made[n]['zip_mb']:.1f} MB zip, {made[n]['gen_seconds']:.1f} s "
                    f"(not timed)",
                    flush=True,
                )
                if n == sizes[0]:
                    parsed = parse_only(zip_path, args.repeat)
                delete_ours(conn, day)
                runs = ["ours"] + (["baseline"] if n in baseline_sizes else [])
                for path in runs:
                    results[(path, n)] = r = run_child(path, zip_path, day)
                    print(f"  {path:<8} {n:>10,} lines {r['seconds']:>8.2f} s", flush=True)
                    if (r["events"], r["properties"], r["quarantined"]) != (
                        made[n]["distinct"],
                        made[n]["properties"],
                        0,
                    ):
                        sys.exit(
                            f"{path} at {n:,} lines loaded {r['events']:,} events, "
                            f"{r['properties']:,} property rows, {r['quarantined']:,} "
                            f"quarantined; expected {made[n]['distinct']:,} events, "
                            f"{made[n]['properties']:,} property rows, 0 quarantined"
                        )
                db = conn.execute(
                    "select (select count(*) from raw.amplitude_event where export_day = %s),"
                    " (select count(*) from raw.amplitude_event_property where export_day = "
                    "%s)",
                    (day, day),
                ).fetchone()
                if db != (made[n]["distinct"], made[n]["properties"]):
                    sys.exit(
                        f"raw tables hold {db} for {day}, expected "
                        f"{(made[n]['distinct'], made[n]['properties'])}"
                    )
                if "baseline" in runs:
                    compared[n] = compare_rows(conn, day)
                    if compared[n] != (0, 0):
                        sys.exit(
                            f"ours and the baseline differ at {n:,} lines: "
                            f"{compared[n][0]} event rows, {compared[n][1]} property rows"
                        )
                delete_ours(conn, day)
                conn.execute(
                    f"truncate {SCHEMA}.amplitude_event_property, {SCHEMA}.amplitude_event"
                )
                zip_path.unlink()
        finally:
            for day in DAYS:
                delete_ours(conn, day)
            conn.execute(f"drop schema if exists {SCHEMA} cascade")

    print()
    print("Amplitude: zip to loaded rows (source_db), one fresh process per path and size")
    print(
        f"{'path':<34} {'lines':>10} {'seconds':>8} {'events/s':>10} {'peak RSS MB':>12} "
        f"{'RSS before MB':>14}"
    )
    labels = {"ours": "ours: load_day", "baseline": "baseline: json.loads + executemany"}
    for (path, n), r in results.items():
        print(
            f"{labels[path]:<34} {n:>10,} {r['seconds']:>8.2f} {n / r['seconds']:>10,.0f} "
            f"{r['peak_mb']:>12.1f} {r['before_mb']:>14.1f}"
        )
    for n in sizes:
        m = made[n]
        check = (
            "rows compared in full with the baseline's: identical"
            if n in compared
            else "baseline not run at this size"
        )
        print(
            f"  {n:,} lines -> {m['distinct']:,} distinct events, {m['properties']:,} "
            f"property rows loaded ({n - m['distinct']:,} duplicates dropped, "
            f"{m['members']} members); {check}"
        )
    if args.baseline_sizes == "small":
        print(
            f"  the executemany baseline ran at {sizes[0]:,} lines only "
            "(--baseline-sizes both to run it at both; events/s is a rate)"
        )

    secs = parsed["seconds"]
    best = {k: min(v) for k, v in secs.items()}
    print()
    print(
        f"Parse only: {parsed['lines']:,} decompressed lines ({parsed['mb']:.0f} MB) in "
        f"memory, 10,000-line batches, best of {args.repeat} (range)"
    )
    for name in ("parse_lines", "json.loads", "orjson.loads"):
        note = {
            "parse_lines": "ours: typed Arrow batches, property objects as JSON text "
            "(PostgreSQL makes their rows at load)",
            "json.loads": "bare stdlib decode, dicts only",
            "orjson.loads": "bare orjson decode, dicts only (reference)",
        }[name]
        print(
            f"  {name:<13} {best[name]:>7.3f} s  {parsed['lines'] / best[name]:>10,.0f} "
            f"lines/s  [{min(secs[name]):.3f}-{max(secs[name]):.3f} s]  {note}"
        )

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print()
    print("Ratios")
    for n in baseline_sizes:
        ratio = results[("baseline", n)]["seconds"] / results[("ours", n)]["seconds"]
        print(
            f"  end to end ours / baseline at {n:,} lines: {ratio:.2f}x  "
            f"(target >= {TARGET_E2E:.0f}x: {verdict(ratio >= TARGET_E2E)})"
        )
    ratio = best["json.loads"] / best["parse_lines"]
    print(
        f"  parse only parse_lines / json.loads: {ratio:.2f}x  "
        f"(target >= {TARGET_PARSE}x: {verdict(ratio >= TARGET_PARSE)})"
    )
    print(f"  (parse_lines / orjson.loads: {best['orjson.loads'] / best['parse_lines']:.2f}x)")
    for path in ("ours", "baseline"):
        if (path, sizes[1]) in results:
            small, large = results[(path, sizes[0])], results[(path, sizes[1])]
            ratio = large["peak_mb"] / small["peak_mb"]
            delta = (large["peak_mb"] - large["before_mb"]) / max(
                small["peak_mb"] - small["before_mb"], 1e-9
            )
            target = (
                f"  (target within {TARGET_RSS:.0%}: {verdict(abs(ratio - 1) <= TARGET_RSS)})"
                if path == "ours"
                else ""
            )
            print(
                f"  peak RSS {path} {sizes[1]:,} / {sizes[0]:,} lines: {ratio:.2f}{target}; "
                f"RSS growth above the start: {delta:.2f}"
            )
    scale = results[("ours", sizes[1])]["seconds"] / results[("ours", sizes[0])]["seconds"]
    print(f"  ours: 10x the lines took {scale:.2f}x the time")


if __name__ == "__main__":
    main()
