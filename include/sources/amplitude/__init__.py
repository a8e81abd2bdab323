"""Amplitude for day D: export the UTC day, archive the zips as received in the S3 lake,
parse, and load raw events and properties into PostgreSQL, deduplicated across files and
reruns (`load.py`), then check the day.

Entry point: `ingest_day(day, ctx)`, called by the `amplitude_events` DAG. See README.md.
Order of safety: each zip reaches the lake (deterministic key
`<prefix>-raw/amplitude/dt=D/<file>`) BEFORE it is parsed, so any day can be re-parsed
without calling Amplitude again (`from_archive`). The task fails only when the quarantined
share of the day exceeds AMPLITUDE_MAX_BAD_FRACTION, after loading, or when the load would
shrink a day already loaded (`amplitude_day_not_shrunk`: D is kept as it was, unless
`accept_smaller_day`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from include.quality import RunContext

if TYPE_CHECKING:
    from include.sources.amplitude.load import LoadedDay


@dataclass(frozen=True)
class AmplitudeDay:
    """What one run exported, archived and loaded."""

    loaded: LoadedDay
    archive_keys: list[str]  # the lake keys of the zips the day was loaded from
    from_archive: bool

    @property
    def changed(self) -> dict[str, int]:
        return {"raw.amplitude_event": self.loaded.events}


def ingest_day(
    day: date,
    ctx: RunContext,
    conn_id: str = "source_db",
    client=None,
    from_archive: bool = False,
    accept_smaller_day: bool = False,
) -> AmplitudeDay:
    """Export day D (or, with `from_archive`, take the zips archived for D without calling
    Amplitude), archive, load, check. Raises DataQualityError after recording the checks;
    AmplitudeDayShrunk (a DataQualityError) when the export lacks events D already holds,
    with D left as it was, unless `accept_smaller_day` (then D shrinks, flagged `warn`)."""
    import tempfile
    from pathlib import Path

    from include.connections import pg_connect
    from include.lake import lake_location
    from include.landing import record_landed_day
    from include.quality import raise_on_failures, record_checks
    from include.quality.gx import validate_suite
    from include.sources.amplitude import client as amplitude_client
    from include.sources.amplitude.checks import SUITE, load_checks, shrink_check
    from include.sources.amplitude.load import (
        AmplitudeDayShrunk,
        archive_key,
        archived_files,
        load_day,
    )

    s3, bucket, prefix = lake_location()
    with tempfile.TemporaryDirectory(prefix="amplitude-") as tmp:
        if from_archive:
            archives = archived_files(s3, bucket, prefix, day, Path(tmp))
        else:
            client = client or amplitude_client.from_connection()
            files = client.export_day(day, Path(tmp))  # streamed to disk; [] = 404, no data
            archives = []
            for path in files:
                key = archive_key(prefix, day, path.name)
                s3.upload_file(str(path), bucket, key)  # archived before parsing
                archives.append((key, path))
        with pg_connect(conn_id, autocommit=True) as conn:
            try:
                loaded = load_day(conn, day, archives, accept_smaller_day=accept_smaller_day)
            except AmplitudeDayShrunk as exc:  # nothing committed: D is as it was
                record_checks(
                    conn,
                    ctx,
                    [shrink_check(exc.held, exc.offered, exc.missing, False, exc.files)],
                )
                raise
            results = load_checks(loaded, empty_day=not archives, from_archive=from_archive)
            results += validate_suite(SUITE, day, conn_id)  # the day, deduped
            record_checks(conn, ctx, results)
            raise_on_failures(results)
            record_landed_day(conn, "amplitude", day)
    return AmplitudeDay(
        loaded=loaded, archive_keys=[k for k, _ in archives], from_archive=from_archive
    )
