"""Warehouse: lake export, staging load, reconciliation and dbt, once both sources landed."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, task

from include.dbt.cosmos import dbt_task_group
from include.runs.assets import (
    AMPLITUDE_RAW_ASSET,
    COUNTY_POPULATION_ASSET,
    MARTS_ASSET,
    STATES_ASSET,
    YELP_ASSET,
)
from include.runs.taxonomy import day_param, deadline, default_args

RUN_TIMEOUT = timedelta(hours=3)

with DAG(
    dag_id="warehouse",
    # Geography once both of its sources landed; again when Yelp or Amplitude landed the day.
    schedule=(STATES_ASSET & COUNTY_POPULATION_ASSET) | YELP_ASSET | AMPLITUDE_RAW_ASSET,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    dagrun_timeout=RUN_TIMEOUT,
    # Asset-triggered runs have no logical date: late four hours after being queued.
    deadline=deadline("queued at", timedelta(hours=4)),
    params={"day": day_param()},
    tags=["layer:warehouse", "layer:quality"],
    doc_md="""
### warehouse
Runs when both `oltp.state` and `oltp.county_population` have new asset events, and again
when `oltp.business` (Yelp) or `raw.amplitude_event` (Amplitude) has. `plan_days` fixes the
run's days: the `day` param or logical date of a run that names one; else every day its
asset events carry plus every day a source landed that this target has not exported yet
(an event Airflow dropped loses no day), less an event's day that was exported since
it landed (a catch-up run took it). Then, for each day in order, it exports
the changed OLTP rows and Amplitude's day D (events and properties, whole) to the S3 lake as
Parquet (`lake_s3`), loads each day into the warehouse staging schema (`WAREHOUSE`, default
the local PostgreSQL `warehouse_db`), reconciles Postgres with the warehouse, and builds the
dbt project: the `dbt` task group has one task per dbt node (snapshots, `stg_` views, marts,
each model's tests), rendered by cosmos from the manifest; `dbt.dbt_producer_watcher` runs a
single `dbt build` and, once it is over, each node task reports its node (a failed build
still shows which node failed). Every dbt test result is recorded in
`quality.check_results`. Beside the build, `source_freshness` runs `dbt source freshness` on
what the load staged: one `freshness_<source>_<table>` row (timeliness) per source table
with a freshness rule (Yelp's daily holdings, the Amplitude day tables; warn after 36 h,
error after 72 h without a new staged row).

**On call:** a `reconcile_*` failure means staging lost or duplicated rows: rerun the DAG
for that day (loads replace the day atomically). `reconcile_raw_day_rows_amplitude_*`
failing means the raw Amplitude day changed after it was exported (a rerun of
`amplitude_events`): rerun this DAG for that day. A red `dbt.<model>` task names the model;
its `dbt:` rows in `quality.check_results` name the failed test. Clearing a red node task
reruns just that node (`dbt run`/`dbt test --select`), not the whole build. A
`deadline_missed` alert means a run was not done four hours after it was queued. Param
`day` (YYYY-MM-DD) processes that day instead of the asset events' days. A day that landed
while a run was busy gets a catch-up run (`queue_catch_up_run`, skipped otherwise).
A red `source_freshness` means a source table's newest staged row is older than its
`error_after` (its `freshness_*` row says how old): the source DAG has not delivered (its
own red runs, or `source_landed_<name>` warns); fix and rerun that source, then this DAG.
It does not retry, and the marts of what did arrive are still built.
""",
) as dag:

    @task
    def plan_days(**context) -> list[str]:
        """The days this run processes (include/warehouse/plan.py): its `day` or logical
        date; for an asset-triggered run every day its events carry and every day a source
        landed that this target has not exported yet. Nothing to do: the run is skipped."""
        from airflow.sdk.exceptions import AirflowSkipException

        from include.lake import target_name
        from include.warehouse.plan import plan_days

        plan = plan_days(context)
        print(f"warehouse run plan: {plan.describe(target_name())}")
        if not plan.days:
            raise AirflowSkipException("no day to process: no asset event, nothing unexported")
        return [d.isoformat() for d in plan.days]

    @task
    def export_lake(days: list[str]):
        from datetime import date

        from include.lake.export import export_days
        from include.runs import xcom_value

        return [xcom_value(e) for e in export_days([date.fromisoformat(d) for d in days])]

    @task
    def load_staging(days: list[str]):
        from datetime import date

        from include.warehouse import load_days

        return load_days([date.fromisoformat(d) for d in days])

    @task
    def reconcile(days: list[str], **context):
        from datetime import date

        from include.runs import run_context
        from include.warehouse.reconcile import reconcile_days

        return reconcile_days([run_context(context, day=date.fromisoformat(d)) for d in days])

    @task
    def source_freshness(days: list[str], **context):
        """dbt source freshness -> timeliness rows in quality.check_results; a stale source
        fails the task at once (a retry cannot make old data new) and alerts."""
        from datetime import date

        from airflow.sdk.exceptions import AirflowFailException

        from include.quality.freshness import StaleSourceError, check_source_freshness
        from include.runs import run_context, xcom_value

        try:
            checks = check_source_freshness(run_context(context, day=date.fromisoformat(days[-1])))
        except StaleSourceError as exc:
            raise AirflowFailException(str(exc)) from exc
        return [xcom_value(c) for c in checks]

    @task(outlets=[MARTS_ASSET])
    def publish_marts(days: list[str], **context):
        from datetime import date

        from include.runs import mark_day

        mark_day(context, MARTS_ASSET, date.fromisoformat(days[-1]))

    @task.short_circuit(trigger_rule="all_done")
    def landed_during_run(**context) -> bool:
        """Did a source land a day while this run was busy (after its export)? Its asset
        event may never become a run (apache/airflow#56050), so this run queues the next
        one itself. Runs that name their day (`make run`, a manual day) never do."""
        from include.lake.export import unexported_days
        from include.runs import explicit_day

        if explicit_day(context) is not None:
            return False
        pending = unexported_days()
        print(f"landed and not yet exported: {[d.isoformat() for d in pending]}")
        return bool(pending)

    # A run with no logical date and no day: its plan is every unexported day. It is
    # queued behind this one (max_active_runs=1).
    catch_up = TriggerDagRunOperator(
        task_id="queue_catch_up_run",
        trigger_dag_id="warehouse",
        logical_date=None,
        conf={},
        execution_timeout=timedelta(minutes=5),
    )

    days = plan_days()
    staged = export_lake(days) >> load_staging(days)
    reconciled = staged >> reconcile(days)
    marts = dbt_task_group(after=reconciled) >> publish_marts(days)
    # Beside the build: a stale source is reported (and fails this task), the marts of
    # what did arrive are still built and published.
    freshness = staged >> source_freshness(days)
    [marts, freshness] >> landed_during_run() >> catch_up
