"""Yelp Fusion: businesses, categories, transactions, reviews and users for every county."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include.runs.assets import COUNTY_POPULATION_ASSET, YELP_ASSET
from include.runs.taxonomy import default_args

with DAG(
    dag_id="yelp_businesses",
    # After census_population (06:00): the searches are built from the OLTP counties.
    schedule=CronDataIntervalTimetable("0 7 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["source:yelp", "layer:extract"],
    doc_md="""
### yelp_businesses
For day D, searches Yelp (`yelp_api` connection: host, password = API key) for every county
of the OLTP model (`location="<County>, <ST>"`, pages of 50 up to the result cap), then
fetches each business's reviews; lands `raw.yelp_search` / `raw.yelp_review` page by page
with progress in `yelp.progress`, checks them (Great Expectations), and upserts the OLTP
business model (business, city, category + bridge, transaction type + bridge, user,
review, the daily business_holding snapshot).

**On call:** a `warn` on `yelp_day_complete` means the daily quota (429
ACCESS_LIMIT_REACHED) or the call budget (`YELP_DAILY_CALL_BUDGET`) stopped the run: it
succeeded with partial data, and clearing/rerunning the task for the same day resumes where
it stopped (quota resets at midnight UTC). A 401 means the API key is wrong: fix the
connection. Nothing needs deleting before a rerun.
""",
) as dag:

    @task(inlets=[COUNTY_POPULATION_ASSET], outlets=[YELP_ASSET])
    def fetch_land_check_normalize(**context):
        from include.runs import logical_day, mark_day, run_context, xcom_value
        from include.sources.yelp import ingest_day

        result = ingest_day(logical_day(context), run_context(context))
        mark_day(context, YELP_ASSET)
        return xcom_value(result)

    fetch_land_check_normalize()
