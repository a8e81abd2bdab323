"""US Census county population by year: extract, land raw, check, normalize."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include.runs.assets import COUNTY_POPULATION_ASSET
from include.runs.taxonomy import default_args

with DAG(
    dag_id="census_population",
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["source:census", "layer:extract"],
    doc_md="""
### census_population
Calls the Census Data API (`census_api` connection: host, password = key) for PEP county
population (`get=NAME,POP,DATE_CODE&for=county:*&in=state:*`) and the state list, lands
both in `raw.*` as one batch per logical date, checks them, and upserts
`oltp.census_state`, `oltp.county` and `oltp.county_population`.

**On call:** "HTML page with status 200" means the API key is invalid: fix the
connection password. HTTP 400 text names the bad variable. Check failures leave the raw
batch in place, un-normalized.
""",
) as dag:

    @task(outlets=[COUNTY_POPULATION_ASSET])
    def extract_land_check_normalize(**context):
        from include.runs import logical_day, mark_day, run_context, xcom_value
        from include.sources.census import ingest_day

        result = ingest_day(logical_day(context), run_context(context))
        mark_day(context, COUNTY_POPULATION_ASSET)
        return xcom_value(result)

    extract_land_check_normalize()
