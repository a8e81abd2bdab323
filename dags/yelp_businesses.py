"""Yelp Fusion: businesses, categories, transactions, reviews and users for every county:
extract+land (resumable, page by page), check, normalize."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include.runs.assets import COUNTY_POPULATION_ASSET, YELP_ASSET
from include.runs.taxonomy import day_param, deadline, default_args

RUN_TIMEOUT = timedelta(hours=6)

with DAG(
    dag_id="yelp_businesses",
    # After census_population (06:00): the searches are built from the OLTP counties.
    schedule=CronDataIntervalTimetable("0 7 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    dagrun_timeout=RUN_TIMEOUT,
    # Due at 07:00 the day after D; the quota-bounded paging may take hours: late at 14:00.
    deadline=deadline("logical date", timedelta(days=1, hours=7)),
    params={"day": day_param()},
    tags=["source:yelp", "layer:extract"],
    doc_md="""
### yelp_businesses
`extract_land` works day D's queue in `yelp.progress` (pool `yelp_api`): it searches Yelp
(`yelp_api` connection: host, password = API key) for every county of the OLTP model
(`location="<County>, <ST>"`, pages of 50 up to the result cap), then fetches each
business's reviews, landing `raw.yelp_search` / `raw.yelp_review` page by page with its
progress (its log says how many counties and businesses are done of the day's total, at
most every 30 s). `check` runs the Great Expectations suites and the day's completeness and
quarantine checks; `normalize` upserts the OLTP business model (business, city, category +
bridge, transaction type + bridge, user, review, the daily business_holding snapshot). Only
`extract_land` calls Yelp. Param `day` (YYYY-MM-DD) runs another day than the data
interval's.

**On call:** a `warn` on `yelp_day_complete` means the daily quota (429
ACCESS_LIMIT_REACHED) or the call budget (`YELP_DAILY_CALL_BUDGET`) stopped the run: it
succeeded with partial data, and clearing `extract_land` (and what follows) or rerunning
the day resumes where it stopped (quota resets at midnight UTC). A 401 means the API key is
wrong: fix the connection. Nothing needs deleting before a rerun. A `deadline_missed`
alert means the day was not done seven hours after its run was due.
""",
) as dag:

    @task(
        inlets=[COUNTY_POPULATION_ASSET],
        pool="yelp_api",
        execution_timeout=timedelta(hours=5),
    )
    def extract_land(**context):
        from include.runs import logical_day, xcom_value
        from include.sources import yelp

        return xcom_value(yelp.run_extract_land(logical_day(context)))

    @task(execution_timeout=timedelta(minutes=30))
    def check(fetched, **context):
        from include.runs import logical_day, run_context
        from include.sources import yelp

        return yelp.run_check(logical_day(context), run_context(context), fetched)

    @task(outlets=[YELP_ASSET], execution_timeout=timedelta(minutes=30))
    def normalize(**context):
        from include.runs import logical_day, mark_day
        from include.sources import yelp

        changed = yelp.run_normalize(logical_day(context))
        mark_day(context, YELP_ASSET)
        return changed

    check(extract_land()) >> normalize()
