"""Amplitude for day D: export the UTC day, archive the zips as received in the S3 lake,
parse, and load raw events and properties into PostgreSQL, deduplicated across files and
reruns (`load.py`), then check the day.

Stages, one task each in the `amplitude_events` DAG (task `<stage>` calls `run_<stage>`;
a worker shares nothing with the next one but PostgreSQL and the lake):

* `run_export(day)`: the Export API's zips for D, streamed to the worker's disk and archived
  as received in the lake (deterministic keys `<prefix>-raw/amplitude/dt=D/<file>`);
  returns their keys (`[]`: a 404, no data). With `from_archive` it calls nothing and
  returns the keys of every zip archived for D. The only stage that calls Amplitude
  (pool `amplitude_api`).
* `run_load(day, ctx, keys)`: the archived zips downloaded, parsed and loaded as raw D, in one
  transaction that refuses to shrink a loaded day (`amplitude_day_not_shrunk`: D is kept
  as it was, unless `accept_smaller_day`); logs its progress as it parses.
* `run_check(day, ctx, loaded, keys)`: the load's checks (rows, quarantined share within
  AMPLITUDE_MAX_BAD_FRACTION, the shrink check's pass/warn) and the GX suite on the day,
  recorded; DataQualityError on a blocking failure (the day stays loaded, unpublished).
* `run_publish(day)`: D is complete (`raw.landed_days`); the DAG's task emits the asset.

`ingest_day(day, ctx)` runs them in order in one process. See README.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from include.quality import RunContext

if TYPE_CHECKING:
    from include.sources.amplitude.load import LoadedDay

log = logging.getLogger(__name__)
SOURCE = "amplitude"


@dataclass(frozen=True)
class AmplitudeDay:
    """What one run exported, archived and loaded."""

    loaded: LoadedDay
    archive_keys: list[str]  # the lake keys of the zips the day was loaded from
    from_archive: bool

    @property
    def changed(self) -> dict[str, int]:
        return {"raw.amplitude_event": self.loaded.events}


def run_export(day: date, from_archive: bool = False, client=None) -> list[str]:
    """Export day D and archive each zip before anything parses it; returns the keys, in
    order. `from_archive`: no Amplitude call, the keys of every zip archived for D
    (FileNotFoundError when none is)."""
    import tempfile
    from pathlib import Path

    from include.lake import lake_location
    from include.sources.amplitude import client as amplitude_client
    from include.sources.amplitude.load import archive_key, archived_keys

    s3, bucket, prefix = lake_location()
    if from_archive:
        return archived_keys(s3, bucket, prefix, day)
    client = client or amplitude_client.from_connection()
    with tempfile.TemporaryDirectory(prefix="amplitude-") as tmp:
        files = client.export_day(day, Path(tmp))  # streamed to disk; [] = 404, no data
        keys = []
        for path in files:
            key = archive_key(prefix, day, path.name)
            s3.upload_file(str(path), bucket, key)  # archived before parsing
            keys.append(key)
    return keys


def run_load(
    day: date,
    ctx: RunContext,
    keys: list[str],
    accept_smaller_day: bool = False,
    conn_id: str = "source_db",
) -> LoadedDay:
    """Load the archived zips `keys` as raw day D (replacing it). AmplitudeDayShrunk (a
    DataQualityError, its check recorded under `ctx` as `fail`) when they lack events D
    holds: nothing is committed, unless `accept_smaller_day`."""
    import tempfile
    from pathlib import Path

    from include.connections import pg_connect
    from include.lake import lake_location
    from include.quality import record_checks
    from include.runs.progress import ProgressLog
    from include.sources.amplitude.checks import shrink_check
    from include.sources.amplitude.load import AmplitudeDayShrunk, download, load_day

    s3, bucket, _ = lake_location()
    progress = ProgressLog(
        log, "Amplitude {day}: {events} events parsed and copied; files done {file}/{files}"
    )
    with tempfile.TemporaryDirectory(prefix="amplitude-") as tmp:
        archives = download(s3, bucket, list(keys), Path(tmp))
        with pg_connect(conn_id, autocommit=True) as conn:
            try:
                return load_day(
                    conn, day, archives, accept_smaller_day=accept_smaller_day, progress=progress
                )
            except AmplitudeDayShrunk as exc:  # nothing committed: D is as it was
                record_checks(
                    conn,
                    ctx,
                    [shrink_check(exc.held, exc.offered, exc.missing, False, exc.files)],
                )
                raise


def _as_loaded(loaded) -> LoadedDay:
    from include.sources.amplitude.load import LoadedDay

    return LoadedDay(**loaded) if isinstance(loaded, dict) else loaded


def run_check(
    day: date,
    ctx: RunContext,
    loaded,
    keys: list[str],
    from_archive: bool = False,
    conn_id: str = "source_db",
) -> dict:
    """The load's checks (`loaded`: its outcome, from XCom or as returned) and the GX
    suite on raw D, recorded under `ctx`; DataQualityError when a blocking one failed.
    Returns {status: count}."""
    from include.connections import pg_connect
    from include.quality import raise_on_failures, record_checks
    from include.quality.gx import validate_suite
    from include.runs import status_counts
    from include.sources.amplitude.checks import SUITE, load_checks

    results = load_checks(_as_loaded(loaded), empty_day=not keys, from_archive=from_archive)
    results += validate_suite(SUITE, day, conn_id)  # the day, deduped
    with pg_connect(conn_id, autocommit=True) as conn:
        record_checks(conn, ctx, results)
    raise_on_failures(results)
    return status_counts(results)


def run_publish(day: date, conn_id: str = "source_db") -> None:
    """Day D is complete: loaded and checked (the warehouse's `source_landed_amplitude`)."""
    from include.connections import pg_connect
    from include.landing import record_landed_day

    with pg_connect(conn_id, autocommit=True) as conn:
        record_landed_day(conn, SOURCE, day)


def ingest_day(
    day: date,
    ctx: RunContext,
    conn_id: str = "source_db",
    client=None,
    from_archive: bool = False,
    accept_smaller_day: bool = False,
) -> AmplitudeDay:
    """Every stage for day D in one process, as the DAG runs them: export (or, with
    `from_archive`, the zips archived for D without calling Amplitude), load, check,
    publish. Raises DataQualityError after recording the checks; AmplitudeDayShrunk (a
    DataQualityError) when the export lacks events D already holds, with D left as it was,
    unless `accept_smaller_day` (then D shrinks, flagged `warn`)."""
    keys = run_export(day, from_archive=from_archive, client=client)
    loaded = run_load(day, ctx, keys, accept_smaller_day=accept_smaller_day, conn_id=conn_id)
    run_check(day, ctx, loaded, keys, from_archive=from_archive, conn_id=conn_id)
    run_publish(day, conn_id)
    return AmplitudeDay(loaded=loaded, archive_keys=keys, from_archive=from_archive)
