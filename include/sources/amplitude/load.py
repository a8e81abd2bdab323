"""Amplitude's raw load: the archived zips of day D parsed into temp tables (COPY), then
D's raw events and properties replaced in one transaction, deduplicated on `$insert_id`
(falling back to `uuid`) across files and reruns. Lines that are not JSON, events without an
id or `event_time`, and unreadable gzip members go to raw.amplitude_quarantine with the
member, line and reason; the rest of the file still loads.

A reload never shrinks D silently: when the load does not carry every event D already holds
(an empty export after a 404, a day exported too early), it raises AmplitudeDayShrunk
inside its transaction, so D keeps its rows, unless the caller accepts the smaller day
(`accept_smaller_day`)."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from include.landing import read_sql
from include.quality import DataQualityError
from include.sources.amplitude.parser import EVENT_COLUMNS, PROPERTY_FIELDS, RAW_EVENT_COLUMNS


@dataclass(frozen=True)
class LoadedDay:
    """What loading day D did."""

    events: int  # distinct events kept
    properties: int  # property rows made of them
    quarantined: int  # quarantined lines and members
    duplicates: int  # events dropped as copies of a kept one
    discarded: int  # lines a failed member had yielded (not loaded, counted as bad)
    files: int  # zips read
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase
    held: int = 0  # distinct events D held before this load
    missing: int = 0  # of those, the events this load did not carry (dropped: accepted)
    accepted_smaller: bool = False  # the load was allowed to shrink D, and did


class AmplitudeDayShrunk(DataQualityError):
    """The load offers less than day D holds: it lacks `missing` of the `held` events
    (`offered` distinct events in all). Raised inside the load's transaction, so D keeps
    its rows; `accept_smaller_day` takes the smaller day deliberately."""

    def __init__(self, day: date, held: int, offered: int, missing: int, files: int):
        self.day, self.held, self.offered, self.missing, self.files = (
            day,
            held,
            offered,
            missing,
            files,
        )
        none = "" if files else " (no file: every hour answered 404)"
        super().__init__(
            f"amplitude_day_not_shrunk: Amplitude day {day} holds {held} events, the export "
            f"offers {offered}{none}, without {missing} of the events held; {day} is left "
            "as it was. "
            f"If the smaller day is right, rerun it with "
            f'{{"accept_smaller_day": true}}'
        )


def archive_key(prefix: str, day: date, name: str) -> str:
    return f"{prefix}-raw/amplitude/dt={day.isoformat()}/{name}".lstrip("/")


def _copy_csv(conn, table: str, columns, record_batch) -> None:
    """COPY an Arrow batch as CSV: Arrow quotes every string and leaves nulls empty, which
    is exactly PostgreSQL's CSV null/empty-string distinction; no per-row Python."""
    import io

    import pyarrow.csv as pcsv

    buf = io.BytesIO()
    pcsv.write_csv(record_batch, buf, pcsv.WriteOptions(include_header=False))
    with conn.cursor().copy(
        f"copy {table} ({', '.join(columns)}) from stdin with (format csv)"
    ) as copy:
        copy.write(buf.getbuffer())


def _clean(text: str | None) -> str | None:
    return None if text is None else text.replace("\x00", "\\u0000")


def _write_batch(conn, key: str, seq: int, item) -> None:
    """COPY one ParsedBatch's events (numbered from `seq`) and quarantined lines."""
    import pyarrow as pa

    events, n = item.events, item.events.num_rows
    if n:
        _copy_csv(
            conn,
            "amp_event_in",
            ("seq", "archive_key") + EVENT_COLUMNS,
            pa.RecordBatch.from_arrays(
                [
                    pa.array(range(seq, seq + n), pa.int64()),
                    pa.array([key] * n, pa.string()),
                    *events.columns,
                ],
                names=["seq", "archive_key", *events.schema.names],
            ),
        )
    if item.quarantined:
        with conn.cursor().copy("copy amp_quarantine_in from stdin") as copy:
            for q in item.quarantined:
                copy.write_row((key, q.member, q.line_number, _clean(q.reason), _clean(q.raw_line)))


def _swap_property_partition(conn, day: date, deduplicated: bool) -> int:
    """Day D's property rows into a new table without its index, the primary key built in
    bulk, then swapped in as D's partition of raw.amplitude_event_property (the old one
    dropped): readers of the parent wait only for the swap, at the end of the transaction.
    One row per key of each property object, made by PostgreSQL from the jsonb (strings
    unquoted, numbers exact, nested values as JSON text).

    Loads of different days take turns from here: each would otherwise hold a weak lock on
    the parent (CREATE TABLE ... LIKE, the DELETE) and then ask for ACCESS EXCLUSIVE (DETACH)
    or lock the default partition (ATTACH) while the other holds its weak lock: a deadlock
    (two backfill days at once hit it). SHARE ROW EXCLUSIVE conflicts with itself and with
    writers, not with readers, and is this transaction's first lock on the parent."""
    from datetime import timedelta

    from psycopg import sql

    part = f"amplitude_event_property_d{day:%Y%m%d}"
    objects = ", ".join(f"('{ptype}', e.{field})" for ptype, field in PROPERTY_FIELDS)
    conn.execute("lock table raw.amplitude_event_property in share row exclusive mode")
    conn.execute(
        f"create table raw.{part}_load (like raw.amplitude_event_property "
        "including defaults including constraints)"
    )
    rows = conn.execute(
        f"insert into raw.{part}_load (export_day, event_key, property_type, key, value) "
        "select %s, e.event_key, p.property_type, j.key, j.value "
        f"from amp_event_in e cross join lateral (values {objects}) p(property_type, obj) "
        "cross join lateral jsonb_each_text(p.obj) j "
        + ("where e.seq in (select seq from amp_keep)" if deduplicated else ""),
        (day,),
    ).rowcount
    # DDL takes no bind parameters: the bounds are literals (dates, quoted by psycopg)
    low, high = (sql.Literal(d).as_string(conn) for d in (day, day + timedelta(days=1)))
    conn.execute(
        f"alter table raw.{part}_load add constraint {part}_load_pkey primary key "
        "(export_day, event_key, property_type, key), "
        f"add constraint {part}_bounds check (export_day >= {low} and "
        f"export_day < {high})"
    )
    if conn.execute("select to_regclass(%s)", (f"raw.{part}",)).fetchone()[0]:
        conn.execute(f"alter table raw.amplitude_event_property detach partition raw.{part}")
        conn.execute(f"drop table raw.{part}")
    # rows of D loaded before partitioning (V007) live in the default partition
    conn.execute("delete from raw.amplitude_event_property where export_day = %s", (day,))
    conn.execute(f"alter table raw.{part}_load rename to {part}")
    conn.execute(f"alter index raw.{part}_load_pkey rename to {part}_pkey")
    conn.execute(
        f"alter table raw.amplitude_event_property attach partition raw.{part} "
        f"for values from ({low}) to ({high})"
    )
    return rows


def load_day(
    conn,
    day: date,
    archives: list[tuple[str, Path]],
    accept_smaller_day: bool = False,
    progress=None,
) -> LoadedDay:
    """Parse the archived zips batch by batch into temp tables (COPY), then replace D's raw
    rows in one transaction, keeping the first copy of each event key. Python holds one
    batch at a time; the dedup is PostgreSQL's (a DISTINCT ON over the day). `progress`
    (an `include.runs.progress.ProgressLog`) hears of every batch: events so far, the file.

    Raises AmplitudeDayShrunk, and commits nothing, when the zips lack any event D holds
    (fewer events, none at all, or other ones), unless `accept_smaller_day`."""
    from include.sources.amplitude.parser import MemberFailed, iter_batches

    log = logging.getLogger(__name__)
    clock, phases = time.perf_counter(), {}

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(phases.get(name, 0.0) + now - clock, 3)
        clock = now

    seq = 0  # events copied so far (after discarding failed members)
    discarded = 0  # lines read from members that then failed (counted as bad)
    # COPY of batch k runs in a thread while batch k+1 is parsed (Arrow's CSV writer and
    # the socket release the GIL); at most one COPY is in flight, and every other statement
    # waits for it, so the connection is only ever used by one thread at a time.
    copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amp-copy")
    in_flight: list = []

    def settle() -> None:
        while in_flight:
            in_flight.pop().result()

    with conn.transaction():
        # This transaction's sorts and hashes fit in memory; JIT only costs on these plans.
        conn.execute("set local work_mem = '256MB'; set local jit = off")
        conn.execute(read_sql(__file__, "load_temp_tables"))

        def report(number: int, final: bool = False) -> None:
            if progress is not None:
                progress(final=final, day=day, events=seq, file=number, files=len(archives))

        try:
            for number, (key, path) in enumerate(archives, start=1):
                member_start: dict[str, int] = {}
                report(number - 1)
                for item in iter_batches(path):
                    settle()
                    if isinstance(item, MemberFailed):
                        # Discard what was copied of the member; quarantine it whole, once.
                        first = member_start.get(item.member, seq)
                        conn.execute("delete from amp_event_in where seq >= %s", (first,))
                        lost = (
                            seq
                            - first
                            + conn.execute(
                                "delete from amp_quarantine_in where archive_key = %s and "
                                "member = %s",
                                (key, item.member),
                            ).rowcount
                        )
                        discarded += lost
                        seq = first
                        conn.execute(
                            "insert into amp_quarantine_in values (%s, %s, null, %s, null)",
                            (
                                key,
                                item.member,
                                f"{item.reason} ({lost} lines "
                                f"read before the failure are "
                                f"not loaded)",
                            ),
                        )
                        continue
                    member_start.setdefault(item.member, seq)
                    in_flight.append(copier.submit(_write_batch, conn, key, seq, item))
                    seq += item.events.num_rows
                    report(number)
            settle()
            report(len(archives), final=True)
        finally:
            copier.shutdown(wait=True)
        phase("parse_and_copy")
        conn.execute("analyze amp_event_in (seq, event_key)")  # what the plans join on
        held, missing = conn.execute(read_sql(__file__, "day_shrink"), {"d": day}).fetchone()
        if missing and not accept_smaller_day:
            offered = conn.execute("select count(distinct event_key) from amp_event_in").fetchone()
            raise AmplitudeDayShrunk(day, held, offered[0], missing, len(archives))
        phase("shrink_check")
        for table in ("amplitude_event", "amplitude_quarantine"):
            conn.execute(f"delete from raw.{table} where export_day = %s", (day,))
        conn.execute(
            "create temp table amp_keep on commit drop as select distinct on "
            "(event_key) seq from amp_event_in order by event_key, seq"
        )
        conn.execute("analyze amp_keep")
        phase("delete_day_and_dedup")
        cols = ", ".join(RAW_EVENT_COLUMNS)
        kept = conn.execute(
            f"insert into raw.amplitude_event (export_day, archive_key, {cols}) "
            f"select %s, archive_key, {cols} from amp_event_in join amp_keep using (seq) "
            f"order by event_key",
            (day,),
        ).rowcount
        phase("insert_events")
        props = _swap_property_partition(conn, day, kept != seq)
        phase("insert_properties")
        bad = conn.execute(
            "insert into raw.amplitude_quarantine (export_day, archive_key, member, "
            "line_number, reason, raw_line) select %s, * from amp_quarantine_in",
            (day,),
        ).rowcount
    phase("commit")
    log.info("amplitude load of %s, seconds per phase: %s", day, phases)
    return LoadedDay(
        events=kept,
        properties=props,
        quarantined=bad,
        duplicates=seq - kept,
        discarded=discarded,
        files=len(archives),
        phases=phases,
        held=held,
        missing=missing,
        accepted_smaller=bool(missing),
    )


def archived_keys(s3, bucket: str, prefix: str, day: date) -> list[str]:
    """The keys of every zip archived for `day` (every file ever received for it;
    duplicates across them are removed by the load's dedup), sorted; FileNotFoundError when
    there is none."""
    day_prefix = archive_key(prefix, day, "")
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=day_prefix)
        for o in page.get("Contents", [])
    ]
    if not keys:
        raise FileNotFoundError(f"no archived Amplitude export under s3://{bucket}/{day_prefix}")
    return sorted(keys)


def download(s3, bucket: str, keys: list[str], dest: Path) -> list[tuple[str, Path]]:
    """The archived zips `keys` downloaded into `dest`: [(key, path)], in order."""
    out = []
    for key in keys:
        path = dest / key.rsplit("/", 1)[-1]
        s3.download_file(bucket, key, str(path))
        out.append((key, path))
    return out


def archived_files(s3, bucket: str, prefix: str, day: date, dest: Path) -> list[tuple[str, Path]]:
    """Download the zips archived for `day` (`archived_keys`)."""
    return download(s3, bucket, archived_keys(s3, bucket, prefix, day), dest)
