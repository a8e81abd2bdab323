"""US states page: scrape, land raw, check, normalize into oltp.state."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include.runs.assets import STATES_ASSET
from include.runs.taxonomy import default_args

with DAG(
    dag_id="states_page",
    schedule=CronDataIntervalTimetable("0 5 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["source:states_page", "layer:extract"],
    doc_md="""
### states_page
Scrapes the US states page (`states_page` connection: host + extra `path`), lands the
rows in `raw.states_page` as one batch per logical date, runs the raw-batch checks
(50 states + DC, unique two-letter codes) into `quality.check_results`, and upserts
`oltp.state`.

**On call:** a `state_code_unique` / `states_count_is_50_plus_dc` failure means the page
changed or has a typo: the bad batch is kept in `raw.states_page` and was *not*
normalized. Inspect it, then clear the task once the page is fixed. HTTP errors are
retried with backoff before alerting.
""",
) as dag:

    @task(outlets=[STATES_ASSET])
    def scrape_land_check_normalize(**context):
        from include.runs import logical_day, mark_day, run_context, xcom_value
        from include.sources.states_page import ingest_day

        result = ingest_day(logical_day(context), run_context(context))
        mark_day(context, STATES_ASSET)
        return xcom_value(result)

    scrape_land_check_normalize()
