"""Checks on Amplitude's day D: the load's own checks (rows loaded, quarantined share) and
the Great Expectations suite on the raw day after dedup."""

from __future__ import annotations

from include.quality import CheckResult
from include.quality.gx import Check, Suite, gxe
from include.sources.amplitude import settings

# The export is by upload time, so event_time may fall slightly outside D: the latency
# window either side is accepted, for at least the `mostly` share of the events.
SUITE = Suite(
    name="amplitude_event",
    target="raw.amplitude_event",
    query=(
        "select event_key, insert_id, event_type, extract(epoch from event_time - "
        "('{batch_id}'::timestamp at time zone 'UTC')) / 3600.0 as hours_from_day_start "
        "from raw.amplitude_event where export_day = '{batch_id}'"
    ),
    checks=(
        Check(
            "amplitude_event_key_unique",
            "uniqueness",
            lambda: gxe().ExpectColumnValuesToBeUnique(column="event_key"),
        ),
        Check(
            "amplitude_insert_id_unique",
            "uniqueness",
            lambda: gxe().ExpectColumnValuesToBeUnique(column="insert_id"),
        ),
        Check(
            "amplitude_event_time_in_exported_day",
            "timeliness",
            lambda: gxe().ExpectColumnValuesToBeBetween(
                column="hours_from_day_start",
                min_value=-settings.event_time_latency_hours(),
                max_value=24 + settings.event_time_latency_hours(),
                mostly=settings.event_time_mostly(),
            ),
        ),
        Check(
            "amplitude_event_type_not_null",
            "completeness",
            lambda: gxe().ExpectColumnValuesToNotBeNull(column="event_type"),
        ),
    ),
)


def shrink_check(held: int, offered: int, missing: int, accepted: bool, files: int) -> CheckResult:
    """`amplitude_day_not_shrunk`: the load carries every event D held before it. `fail`
    when it does not (the load was refused, D kept), `warn` when the smaller day was
    accepted (`accept_smaller_day`) and D shrank; observed = distinct events offered."""
    status = "pass" if not missing else ("warn" if accepted else "fail")
    return CheckResult(
        "amplitude_day_not_shrunk",
        "completeness",
        "raw.amplitude_event",
        status,
        offered,
        f">= {held} (every event D holds)",
        {
            "held": held,
            "offered": offered,
            "missing": missing,
            "files": files,
            "accepted_smaller_day": accepted,
        },
    )


def load_checks(loaded, empty_day: bool, from_archive: bool) -> list[CheckResult]:
    """The day's load: rows loaded (an empty day passes, flagged), and the quarantined share
    (bad lines and members plus the lines a failed member had yielded) within the limit."""
    bad = loaded.quarantined + loaded.discarded
    total = loaded.events + loaded.duplicates + bad
    limit = settings.max_bad_fraction()
    share = bad / total if total else 0.0
    return [
        shrink_check(
            loaded.held, loaded.events, loaded.missing, loaded.accepted_smaller, loaded.files
        ),
        CheckResult(
            "amplitude_events_loaded",
            "completeness",
            "raw.amplitude_event",
            "pass",
            loaded.events,
            ">= 0",
            {
                "files": loaded.files,
                "empty_day": empty_day,
                "from_archive": from_archive,
                "duplicates_dropped": loaded.duplicates,
            },
        ),
        CheckResult(
            "amplitude_quarantine_share",
            "validity",
            "raw.amplitude_quarantine",
            "pass" if share <= limit else "fail",
            round(share, 6),
            f"<= {limit}",
            {
                "quarantined": loaded.quarantined,
                "lines_of_failed_members": loaded.discarded,
                "lines": total,
            },
        ),
    ]
