"""The dbt project as Airflow tasks, one per dbt node, rendered by astronomer-cosmos from the
manifest built at setup (`make manifest`, or the Dockerfile's build step).

Cosmos's WATCHER execution mode runs one `dbt build` (in-process, dbtRunner) in a producer
task; every model, snapshot and model's tests is a task in the UI that turns green/red as
that build reports the node. The dbt profile comes from the warehouse Airflow connection
through a cosmos profile mapping, so credentials never sit in a file or a rendered template.

Parse-time cost: cosmos imports in ~0.4 s and reads the manifest; dbt itself is only
imported by the tasks.
"""

from __future__ import annotations

import os
from typing import ClassVar

from include.dbt import MANIFEST, PROJECT_DIR


def profile_config():
    from cosmos import ProfileConfig

    warehouse = os.environ.get("WAREHOUSE", "postgres")
    if warehouse == "postgres":
        from cosmos.profiles import PostgresUserPasswordProfileMapping

        return ProfileConfig(
            profile_name="elt",
            target_name="postgres",
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id="warehouse_db", profile_args={"schema": "analytics", "threads": 4}
            ),
        )
    if warehouse == "bigquery":
        return ProfileConfig(
            profile_name="elt",
            target_name="bigquery",
            profile_mapping=_bigquery_mapping()(conn_id="google_cloud_default"),
        )
    raise ValueError(f"WAREHOUSE={warehouse!r}: expected 'postgres' or 'bigquery'")


def _bigquery_mapping():
    """A cosmos profile mapping for `google_cloud_default`: the same method choice as
    include/dbt_runner.dbt_env (emulator -> dummy token + api_endpoint; extra key_path ->
    service account file; else ADC). Built lazily so only the BigQuery target imports it."""
    from cosmos.profiles.base import BaseProfileMapping

    class BigQueryConnectionProfileMapping(BaseProfileMapping):
        airflow_connection_type = "google_cloud_platform"
        dbt_profile_type = "bigquery"
        required_fields: ClassVar[list[str]] = ["project", "dataset"]

        @property
        def profile(self):
            from include.dbt.runner import dbt_env

            env = dbt_env()
            profile = {
                "type": "bigquery",
                "method": env["DBT_BQ_METHOD"],
                "project": env["DBT_BQ_PROJECT"],
                "dataset": "analytics",
                "location": env["DBT_BQ_LOCATION"],
                "threads": 4,
                "job_retries": 2,
                "job_execution_timeout_seconds": 600,
            }
            for key, var in (
                ("keyfile", "DBT_BQ_KEYFILE"),
                ("token", "DBT_BQ_TOKEN"),
                ("api_endpoint", "DBT_BQ_API_ENDPOINT"),
            ):
                if env.get(var):
                    profile[key] = env[var]
            return {**profile, **self.profile_args}

    return BigQueryConnectionProfileMapping


def dbt_task_group(group_id: str = "dbt", after=None, **kwargs):
    """A cosmos DbtTaskGroup for the whole project, run after the task `after` succeeded.
    Raises a clear error when the manifest has not been built (the DAG then shows an
    import error naming the fix)."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode

    if not MANIFEST.is_file():
        raise FileNotFoundError(
            f"dbt manifest not found at {MANIFEST}: build it with `make manifest` "
            "(dbt parse); the Docker image builds it at image build time"
        )
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=PROJECT_DIR,
            manifest_path=MANIFEST,
            project_name="elt",
            install_dbt_deps=False,
        ),
        profile_config=profile_config(),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
            # One `dbt build` per run: an Airflow retry of the producer would skip, so
            # it fails at once and each node task retries its own node instead.
            setup_operator_args={"retries": 0},
        ),
        # The marts Asset is published once by the DAG (publish_marts); per-model Assets
        # would add ~20 asset events per run that nothing schedules on.
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, emit_datasets=False),
        operator_args={
            # How node tasks wait for the producer's build. Under a scheduler with a
            # triggerer (compose, `make up`: ELT_DBT_DEFERRABLE=true) they defer: one poke,
            # then the triggerer polls, and no worker slot or task start is spent per poke.
            # Otherwise reschedule mode (no slot held between pokes): deferrable sensors
            # would deadlock dag.test(), which runs tasks one at a time (`make run`, tests).
            "deferrable": os.environ.get("ELT_DBT_DEFERRABLE", "").lower() == "true",
            "mode": "reschedule",
            "poke_interval": int(os.environ.get("ELT_DBT_POKE_SECONDS", "5")),
            "timeout": 4 * 3600,
            # Runs after dbt build, before a failure is raised: every dbt test result
            # becomes a row in quality.check_results.
            "callback": "include.dbt.runner.record_run_results_callback",
        },
        **kwargs,
    )
    start = _nodes_after_build(group)
    if after is not None:
        after >> start
    return group


def _nodes_after_build(group):
    """Start the node tasks once the producer's `dbt build` is over; returns the group's
    first task, `<group>.start`.

    cosmos starts them beside the build, to show progress live. On two cores each of the
    ~70 node tasks then costs a task start, a poke and a deferral (or a reschedule) while the
    build runs, and again when it resumes: measured under the scheduler, the build took 66 s
    against 7-9 s alone. After the build each node task starts once and finds its result at
    its first poke.

    `start` (an EmptyOperator: the scheduler completes it, no worker) comes before the
    producer and the root nodes. The roots wait for the producer whatever its state (a
    failed build still lets each node report its own node: the red task names the model)
    and need `start`'s success: when what the group runs after failed, `start` and the
    producer are upstream_failed and so are the nodes; none of them runs dbt."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    producer = group.children[f"{group.group_id}.dbt_producer_watcher"]
    done = f"{producer.task_id}_done"
    nodes = {t.task_id: t for t in group.iter_tasks() if t.task_id not in (producer.task_id, done)}
    roots = [t for t in nodes.values() if not t.upstream_task_ids & nodes.keys()]
    start = EmptyOperator(task_id="start", task_group=group, dag=producer.dag)
    start >> producer
    for task in roots:
        [start, producer] >> task
        task.trigger_rule = "all_done_min_one_success"
    return start
