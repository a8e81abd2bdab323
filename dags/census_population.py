"""US Census county population by year: extract (archive the answers), land raw, check,
normalize."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include.runs.assets import COUNTY_POPULATION_ASSET
from include.runs.taxonomy import day_param, deadline, default_args

RUN_TIMEOUT = timedelta(hours=1)

with DAG(
    dag_id="census_population",
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    dagrun_timeout=RUN_TIMEOUT,
    # Due at 06:00 the day after D (the data interval's end); late two hours after that.
    deadline=deadline("logical date", timedelta(days=1, hours=2)),
    params={"day": day_param()},
    tags=["source:census", "layer:extract"],
    doc_md="""
### census_population
`extract` calls the Census Data API (`census_api` connection: host, password = key; pool
`census_api`) for PEP county population (`get=NAME,POP,DATE_CODE&for=county:*&in=state:*`)
and the state list, and archives both answers as received in the lake
(`<prefix>-raw/census/dt=D/`); `land` parses them into `raw.*` as one batch per day;
`check` runs the raw-batch suite; `normalize` upserts `oltp.census_state`, `oltp.county`
and `oltp.county_population`. Only `extract` calls the API: a retry of any later task reads
what the earlier ones left. Param `day` (YYYY-MM-DD) runs another day than the data
interval's.

**On call:** "HTML page with status 200" (red `extract`) means the API key is invalid:
fix the connection password. HTTP 400 text names the bad variable. Check failures (red
`check`) leave the raw batch in place, un-normalized. A `deadline_missed` alert means the
day was not done two hours after its run was due: see the run's grid.
""",
) as dag:

    @task(pool="census_api", execution_timeout=timedelta(minutes=15))
    def extract(**context):
        from include.runs import logical_day
        from include.sources import census

        return census.run_extract(logical_day(context))

    @task(execution_timeout=timedelta(minutes=15))
    def land(keys, **context):
        from include.runs import logical_day, xcom_value
        from include.sources import census

        return xcom_value(census.run_land(logical_day(context), keys))

    @task(execution_timeout=timedelta(minutes=20))
    def check(landed, **context):
        from include.runs import logical_day, run_context
        from include.sources import census

        return census.run_check(logical_day(context), run_context(context), landed["batch_id"])

    @task(outlets=[COUNTY_POPULATION_ASSET], execution_timeout=timedelta(minutes=15))
    def normalize(checked, **context):
        from include.runs import logical_day, mark_day, xcom_value
        from include.sources import census

        # The batch `check` passed: a batch landed since (a cleared `land`) is refused.
        result = census.run_normalize(logical_day(context), checked["batch_id"])
        mark_day(context, COUNTY_POPULATION_ASSET)
        return xcom_value(result)

    normalize(check(land(extract())))
