"""Amplitude for logical day D: export the UTC day, archive the zips as received in the S3
lake, parse, and load raw events and properties into PostgreSQL, deduplicated on
`$insert_id` (falling back to `uuid`) across files and reruns.

Order of safety: each zip reaches the lake (deterministic key
`<prefix>-raw/amplitude/dt=D/<file>`) BEFORE it is parsed, so any day can be re-parsed
without calling Amplitude again. The day's rows are replaced in one transaction (a rerun
leaves the same rows). Lines that are not JSON, events without an id or `event_time`, and
unreadable gzip members go to raw.amplitude_quarantine with the member, line and reason;
the rest of the file still loads, and the task fails only when the quarantined share of the
day exceeds AMPLITUDE_MAX_BAD_FRACTION (default 0.01), after loading.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

from include.quality import CheckResult, RunContext

EVENT_COLS = ("export_day", "event_key", "insert_id", "uuid", "event_id", "amplitude_id",
              "user_id", "device_id", "session_id", "event_time", "client_event_time",
              "server_upload_time", "event_type", "platform", "os_name", "country", "city",
              "paying", "archive_key", "member", "line_number")


class TooManyBadRows(RuntimeError):
    pass


def archive_key(prefix: str, day: date, name: str) -> str:
    return f"{prefix}-raw/amplitude/dt={day.isoformat()}/{name}".lstrip("/")


def load_day(conn, day: date, archives: list[tuple[str, Path]]) -> dict:
    """Parse the archived zips and replace D's raw rows in one transaction."""
    from include.sources.amplitude import Event, iter_events

    seen: set[str] = set()
    events, props, bad = [], [], []
    duplicates = 0
    for key, path in archives:
        for item in iter_events(path):
            if not isinstance(item, Event):
                bad.append((day, key, item.member, item.line_number, item.reason,
                            item.raw_line))
                continue
            event_key = item.insert_id or item.uuid
            if event_key in seen:  # the same event in several files: keep the first
                duplicates += 1
                continue
            seen.add(event_key)
            events.append((day, event_key, item.insert_id, item.uuid, item.event_id,
                           item.amplitude_id, item.user_id, item.device_id, item.session_id,
                           item.event_time, item.client_event_time, item.server_upload_time,
                           item.event_type, item.platform, item.os_name, item.country,
                           item.city, item.paying, key, item.member, item.line_number))
            for p in {(p.property_type, p.key): p for p in item.properties}.values():
                props.append((day, event_key, p.property_type, p.key, p.value))
    with conn.transaction():
        conn.execute("delete from raw.amplitude_event where export_day = %s", (day,))
        conn.execute("delete from raw.amplitude_quarantine where export_day = %s", (day,))
        for table, cols, rows in (
                ("amplitude_event", EVENT_COLS, events),
                ("amplitude_event_property",
                 ("export_day", "event_key", "property_type", "key", "value"), props),
                ("amplitude_quarantine", ("export_day", "archive_key", "member", "line_number",
                                          "reason", "raw_line"), bad)):
            with conn.cursor().copy(f"copy raw.{table} ({', '.join(cols)}) from stdin") as copy:
                for row in rows:
                    copy.write_row(row)
    return {"events": len(events), "properties": len(props), "quarantined": len(bad),
            "duplicates": duplicates, "files": len(archives)}


def amplitude_batch(day: date, ctx: RunContext, conn_id: str = "source_db",
                    client=None) -> dict:
    from include.connections import amplitude_client, pg_connect
    from include.lake_export import lake_location
    from include.quality import raise_on_failures, record_checks

    client = client or amplitude_client()
    s3, bucket, prefix = lake_location()
    with tempfile.TemporaryDirectory(prefix="amplitude-") as tmp:
        files = client.export_day(day, Path(tmp))  # streamed to disk; [] = 404, no data
        archives = []
        for path in files:
            key = archive_key(prefix, day, path.name)
            s3.upload_file(str(path), bucket, key)  # archived before parsing
            archives.append((key, path))
        with pg_connect(conn_id, autocommit=True) as conn:
            loaded = load_day(conn, day, archives)
            total = loaded["events"] + loaded["duplicates"] + loaded["quarantined"]
            limit = float(os.environ.get("AMPLITUDE_MAX_BAD_FRACTION", "0.01"))
            share = loaded["quarantined"] / total if total else 0.0
            results = [
                CheckResult("amplitude_events_loaded", "completeness", "raw.amplitude_event",
                            "pass", loaded["events"], ">= 0",
                            {"files": loaded["files"], "empty_day": not files,
                             "duplicates_dropped": loaded["duplicates"]}),
                CheckResult("amplitude_quarantine_share", "validity", "raw.amplitude_quarantine",
                            "pass" if share <= limit else "fail", round(share, 6), f"<= {limit}",
                            {"quarantined": loaded["quarantined"], "lines": total}),
            ]
            record_checks(conn, ctx, results)
            raise_on_failures(results)
    return {**loaded, "changed": {"raw.amplitude_event": loaded["events"]},
            "archive_keys": [k for k, _ in archives]}
