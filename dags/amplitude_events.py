"""Amplitude Export API: the previous UTC day's events, archived raw, loaded deduplicated."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include.runs.assets import AMPLITUDE_RAW_ASSET
from include.runs.taxonomy import default_args

with DAG(
    dag_id="amplitude_events",
    # 03:00 UTC: the run whose data interval starts on day D (03:00) exports UTC day D
    # after Amplitude's ~2 h export delay has passed for D's last hour.
    schedule=CronDataIntervalTimetable("0 3 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["source:amplitude", "layer:extract"],
    params={
        "from_archive": Param(
            False,
            type="boolean",
            description="Re-parse the zips archived in the lake for "
            "day D instead of calling Amplitude.",
        ),
        "accept_smaller_day": Param(
            False,
            type="boolean",
            description="Replace day D even though the export lacks events D already "
            "holds (a deliberate shrink: Amplitude deleted them). Without it such a "
            "run fails (amplitude_day_not_shrunk) and D keeps its rows.",
        ),
    },
    doc_md="""
### amplitude_events
Exports UTC day D from the Amplitude Export API (`amplitude_api`: login = API key,
password = secret key), streaming the zip to disk (a 400 "over 4 GB" splits the day into
hours; 404 is an empty day; 5xx/504 are retried), archives each zip as received in the lake
(`<prefix>-raw/amplitude/dt=D/`), then loads `raw.amplitude_event` and
`raw.amplitude_event_property` deduplicated on `$insert_id` (else `uuid`), replacing day D.

**On call:** bad lines and unreadable gzip members are in `raw.amplitude_quarantine` with
the member, line and reason; the task fails (after loading the rest) only when their share
of the day exceeds `AMPLITUDE_MAX_BAD_FRACTION` (default 0.01). Re-parsing a day needs no
Amplitude call: trigger with `{"from_archive": true}` and the zips archived in the lake are
loaded again. A 401 means the key/secret are wrong. The GX suite on the day (key unique,
event_type not null, event_time within D ± `AMPLITUDE_EVENT_TIME_LATENCY_HOURS`) records
its rows in `quality.check_results` and fails the task on a miss, after the load.

**A smaller day is refused:** when an export (a 404, a day exported too early, an
archive re-parse) lacks events that D already holds, the task fails with
`amplitude_day_not_shrunk` and D keeps its rows in raw, the lake, staging and the marts.
If the smaller day is right, trigger D with `{"accept_smaller_day": true}`: D is replaced,
the check is `warn`, and the marts drop the events D no longer carries.
""",
) as dag:

    @task(outlets=[AMPLITUDE_RAW_ASSET])
    def export_archive_load(**context):
        from include.runs import logical_day, mark_day, run_context, xcom_value
        from include.sources.amplitude import ingest_day

        result = ingest_day(
            logical_day(context),
            run_context(context),
            from_archive=bool(context["params"].get("from_archive")),
            accept_smaller_day=bool(context["params"].get("accept_smaller_day")),
        )
        mark_day(context, AMPLITUDE_RAW_ASSET)
        return xcom_value(result)

    export_archive_load()
