"""US states page: extract (archive the page), land raw, check, normalize into oltp.state."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include.runs.assets import STATES_ASSET
from include.runs.taxonomy import day_param, deadline, default_args

RUN_TIMEOUT = timedelta(hours=1)

with DAG(
    dag_id="states_page",
    schedule=CronDataIntervalTimetable("0 5 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    dagrun_timeout=RUN_TIMEOUT,
    # Due at 05:00 the day after D (the data interval's end); late two hours after that.
    deadline=deadline("logical date", timedelta(days=1, hours=2)),
    params={"day": day_param()},
    tags=["source:states_page", "layer:extract"],
    doc_md="""
### states_page
`extract` fetches the US states page (`states_page` connection: host + extra `path`;
robots.txt first) and archives it as received in the lake
(`<prefix>-raw/states_page/dt=D/page.html`); `land` parses the archived page into
`raw.states_page` as one batch per day; `check` runs the raw-batch checks (50 states + DC,
unique two-letter codes) into `quality.check_results`; `normalize` upserts `oltp.state`.
Only `extract` calls the site: a retry of any later task reads what the earlier ones left
in the lake and PostgreSQL. Param `day` (YYYY-MM-DD) runs another day than the data
interval's.

**On call:** a `state_code_unique` / `states_count_is_50_plus_dc` failure (red `check`)
means the page changed or has a typo: the bad batch is kept in `raw.states_page` and was
*not* normalized. Inspect it, then clear `extract` (and what follows) once the page is
fixed. HTTP errors are retried with backoff before alerting. A `deadline_missed` alert
means the day was not done two hours after its run was due: see the run's grid.
""",
) as dag:

    @task(execution_timeout=timedelta(minutes=15))
    def extract(**context):
        from include.runs import logical_day
        from include.sources import states_page

        return states_page.run_extract(logical_day(context))

    @task(execution_timeout=timedelta(minutes=15))
    def land(key, **context):
        from include.runs import logical_day, xcom_value
        from include.sources import states_page

        return xcom_value(states_page.run_land(logical_day(context), key))

    @task(execution_timeout=timedelta(minutes=20))
    def check(landed, **context):
        from include.runs import logical_day, run_context
        from include.sources import states_page

        return states_page.run_check(logical_day(context), run_context(context), landed["batch_id"])

    @task(outlets=[STATES_ASSET], execution_timeout=timedelta(minutes=15))
    def normalize(checked, **context):
        from include.runs import logical_day, mark_day, xcom_value
        from include.sources import states_page

        # The batch `check` passed: a batch landed since (a cleared `land`) is refused.
        result = states_page.run_normalize(logical_day(context), checked["batch_id"])
        mark_day(context, STATES_ASSET)
        return xcom_value(result)

    normalize(check(land(extract())))
