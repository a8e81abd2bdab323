"""Amplitude Export API: the previous UTC day's events, archived raw, loaded deduplicated:
export (archive the zips), load, check, publish."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include.runs.assets import AMPLITUDE_RAW_ASSET
from include.runs.taxonomy import day_param, deadline, default_args

RUN_TIMEOUT = timedelta(hours=4)

with DAG(
    dag_id="amplitude_events",
    # 03:00 UTC: the run whose data interval starts on day D (03:00) exports UTC day D
    # after Amplitude's ~2 h export delay has passed for D's last hour.
    schedule=CronDataIntervalTimetable("0 3 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    dagrun_timeout=RUN_TIMEOUT,
    # Due at 03:00 the day after D; a 4 GB day takes a while: late at 08:00.
    deadline=deadline("logical date", timedelta(days=1, hours=5)),
    tags=["source:amplitude", "layer:extract"],
    params={
        "day": day_param(),
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
`export` exports UTC day D from the Amplitude Export API (`amplitude_api`: login = API key,
password = secret key; pool `amplitude_api`), streaming the zip to the worker's disk (a 400
"over 4 GB" splits the day into hours; 404 is an empty day; 5xx/504 are retried) and
archiving each zip as received in the lake (`<prefix>-raw/amplitude/dt=D/`); `load`
downloads those zips, parses them and loads `raw.amplitude_event` and
`raw.amplitude_event_property` deduplicated on `$insert_id` (else `uuid`), replacing day D
(its log says how many events are done, at most every 30 s); `check` records the load's
checks and the GX suite; `publish` marks D complete and emits the asset. Only `export`
calls Amplitude: a retry of any later task reads the archived zips and PostgreSQL. Param
`day` (YYYY-MM-DD) runs another day than the data interval's.

**On call:** bad lines and unreadable gzip members are in `raw.amplitude_quarantine` with
the member, line and reason; `check` fails (after the load) only when their share of the
day exceeds `AMPLITUDE_MAX_BAD_FRACTION` (default 0.01). Re-parsing a day needs no
Amplitude call: trigger with `{"from_archive": true}` and the zips archived in the lake are
loaded again. A 401 (red `export`) means the key/secret are wrong. The GX suite on the day
(key unique, event_type not null, event_time within D ± `AMPLITUDE_EVENT_TIME_LATENCY_HOURS`)
records its rows in `quality.check_results` and fails `check` on a miss.

**A smaller day is refused:** when an export (a 404, a day exported too early, an
archive re-parse) lacks events that D already holds, `load` fails with
`amplitude_day_not_shrunk` and D keeps its rows in raw, the lake, staging and the marts.
If the smaller day is right, trigger D with `{"accept_smaller_day": true}`: D is replaced,
the check is `warn`, and the marts drop the events D no longer carries. A `deadline_missed`
alert means the day was not done five hours after its run was due.
""",
) as dag:

    @task(pool="amplitude_api")
    def export(**context):
        from include.runs import logical_day
        from include.sources import amplitude

        return amplitude.run_export(
            logical_day(context), from_archive=bool(context["params"].get("from_archive"))
        )

    @task
    def load(keys, **context):
        from include.runs import logical_day, run_context, xcom_value
        from include.sources import amplitude

        return xcom_value(
            amplitude.run_load(
                logical_day(context),
                run_context(context),
                keys,
                accept_smaller_day=bool(context["params"].get("accept_smaller_day")),
            )
        )

    @task(execution_timeout=timedelta(minutes=30))
    def check(keys, loaded, **context):
        from include.runs import logical_day, run_context
        from include.sources import amplitude

        return amplitude.run_check(
            logical_day(context),
            run_context(context),
            loaded,
            keys,
            from_archive=bool(context["params"].get("from_archive")),
        )

    @task(outlets=[AMPLITUDE_RAW_ASSET], execution_timeout=timedelta(minutes=10))
    def publish(**context):
        from include.runs import logical_day, mark_day
        from include.sources import amplitude

        amplitude.run_publish(logical_day(context))
        mark_day(context, AMPLITUDE_RAW_ASSET)

    keys = export()
    check(keys, load(keys)) >> publish()
