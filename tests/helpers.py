"""What the integration tests share about the local source server, as plain HTTP: its
fault control, its request counts, and the Amplitude export as the wire sends it (no
project code is involved, so expected values computed from these stay independent)."""

from datetime import date

import requests

from include.connections import get_connection


def _sources_host() -> str:
    return get_connection("census_api").host  # one local server stands in for every source


def control(payload: dict) -> None:
    """Set the server's faults (`{}` resets them and the request counts)."""
    requests.post(f"{_sources_host()}/_control", json=payload, timeout=5).raise_for_status()


def request_counts() -> dict:
    """Calls the server has answered per source since the last reset."""
    return requests.get(f"{_sources_host()}/_control", timeout=5).json()["requests"]


def amplitude_export(day: date) -> bytes:
    """The zip of the UTC day's Amplitude export, downloaded with requests."""
    conn = get_connection("amplitude_api")
    r = requests.get(
        f"{conn.host}/api/2/export",
        auth=(conn.login, conn.password),
        timeout=30,
        params={"start": f"{day:%Y%m%d}T00", "end": f"{day:%Y%m%d}T23"},
    )
    r.raise_for_status()
    return r.content


# The source DAGs in dependency order: (dag id, the source's package). Their tasks are one
# per stage; `_stages` below runs them as the DAG does, each under its task id.
SOURCE_TASKS = (
    ("states_page", "include.sources.states_page"),
    ("census_population", "include.sources.census"),
    ("yelp_businesses", "include.sources.yelp"),
    ("amplitude_events", "include.sources.amplitude"),
)


def _stages(dag_id: str, source, day: date, stage):
    """The source DAG's tasks in order, as its DAG file wires them: `stage(task_id, call)`
    runs `call(ctx)` under that task's RunContext. Returns what `ingest_day` returns."""
    if dag_id in ("states_page", "census_population"):
        keys = stage("extract", lambda ctx: source.run_extract(day))
        landed = stage("land", lambda ctx: source.run_land(day, keys))
        checked = stage("check", lambda ctx: source.run_check(day, ctx, landed.batch_id))
        return stage("normalize", lambda ctx: source.run_normalize(day, checked["batch_id"]))
    if dag_id == "yelp_businesses":
        fetched = stage("extract_land", lambda ctx: source.run_extract_land(day))
        stage("check", lambda ctx: source.run_check(day, ctx, fetched))
        return source.YelpDay(fetched, stage("normalize", lambda ctx: source.run_normalize(day)))
    if dag_id == "amplitude_events":
        keys = stage("export", lambda ctx: source.run_export(day))
        loaded = stage("load", lambda ctx: source.run_load(day, ctx, keys))
        stage("check", lambda ctx: source.run_check(day, ctx, loaded, keys))
        stage("publish", lambda ctx: source.run_publish(day))
        return source.AmplitudeDay(loaded=loaded, archive_keys=keys, from_archive=False)
    raise KeyError(dag_id)


def run_task(dag_id: str, task_id: str, day: date, run_id: str, call):
    """One DAG task's entry point as its final try runs it: `call(ctx)` with the task's
    RunContext; a failure is alerted as the task's failure callback (`on_task_failure`)
    alerts it, and returned as the exception instead of raised."""
    from include.quality import RunContext
    from include.quality.alerts import alert_failure

    try:
        return call(RunContext(run_id=run_id, dag_id=dag_id, task_id=task_id, logical_date=day))
    except Exception as exc:  # noqa: BLE001 - recorded, alerted, asserted by the tests
        alert_failure(dag_id, task_id, run_id, day, f"{type(exc).__name__}: {exc}")
        return exc


def run_source(dag_id: str, package: str, day: date, run_id: str):
    """One source DAG's stages in order, each under its task id; a failure is alerted
    naming the stage that failed and returned as the exception."""
    import importlib

    from include.quality import RunContext
    from include.quality.alerts import alert_failure

    source = importlib.import_module(package)
    failed_task = [None]

    def stage(stage_task_id, stage_call):
        failed_task[0] = stage_task_id
        return stage_call(
            RunContext(run_id=run_id, dag_id=dag_id, task_id=stage_task_id, logical_date=day)
        )

    try:
        return _stages(dag_id, source, day, stage)
    except Exception as exc:  # noqa: BLE001 - recorded, alerted, asserted by the tests
        alert_failure(dag_id, failed_task[0], run_id, day, f"{type(exc).__name__}: {exc}")
        return exc


def run_sources(day: date, run_id: str, packages: tuple[str, ...] | None = None) -> dict:
    """Every source DAG's stages for day D (or those of `packages`), in dependency order.
    Returns {dag id: typed result, or the exception}."""
    return {
        dag_id: run_source(dag_id, package, day, run_id)
        for dag_id, package in SOURCE_TASKS
        if packages is None or package in packages
    }


def warehouse_steps(day: date, dbt: bool = True) -> tuple:
    """The warehouse DAG's steps for day D as (outcome key, task id, call(ctx)): lake
    export, staging load, reconciliation (raising on a failed check, as the task does) and,
    with `dbt`, the dbt build."""
    from include.lake.export import export_day
    from include.quality import raise_on_failures
    from include.warehouse import load_days
    from include.warehouse.reconcile import reconcile_warehouse

    def reconcile(ctx):
        results = reconcile_warehouse(ctx)
        raise_on_failures(results)
        return results

    steps = (
        ("lake_export", "export_lake", lambda ctx: export_day(day)),
        ("warehouse_load", "load_staging", lambda ctx: load_days([day])),
        ("reconcile", "reconcile", reconcile),
    )
    if dbt:
        from include.dbt.runner import build_and_record

        steps += (("dbt_build", "dbt_build", build_and_record),)
    return steps


def run_day(day: date, run_id: str, dbt: bool = True) -> dict:
    """Day D through the functions the DAG tasks call, in one process and without Airflow's
    metadata (fast enough to run many times per test): every source DAG's stages in order,
    then, if they all succeeded, the warehouse DAG's steps (lake export, staging load,
    reconciliation, and with `dbt` the dbt build). A failure is alerted as the failed
    task's failure callback alerts it (naming that task), and recorded in the outcome as
    the exception; later steps are skipped. Returns {dag id or step: typed result, or the
    exception}."""
    outcome = run_sources(day, run_id)
    if any(isinstance(v, Exception) for v in outcome.values()):
        return outcome
    for key, task_id, call in warehouse_steps(day, dbt):
        outcome[key] = run_task("warehouse", task_id, day, run_id, call)
        if isinstance(outcome[key], Exception):
            break
    return outcome


def rows_md5(conn, table: str, where: str = "true", params=(), drop: tuple[str, ...] = ()):
    """(rows, md5 of the rows as JSON in order) of `table` where `where`, without the
    columns `drop` (load clocks, batch ids): a fingerprint read with plain SQL."""
    row = "(to_jsonb(t) " + "".join(f"- '{c}' " for c in drop) + ")::text"
    return conn.execute(
        f"select count(*), md5(coalesce(string_agg({row}, ',' order by {row}), '')) "
        f"from {table} t where {where}",
        params,
    ).fetchone()


def failures(outcome: dict) -> dict:
    """The steps of a `run_day` outcome that raised, with their errors."""
    return {k: f"{type(v).__name__}: {v}" for k, v in outcome.items() if isinstance(v, Exception)}


# The local Slack sink (local/slack_sink.py), as plain HTTP: its fault control and what it
# received (the webhook token is never recorded by the sink).


def _slack_sink() -> str:
    conn = get_connection("slack_alerts")
    return f"{conn.schema}://{conn.host.split('/')[0]}"


def slack_control(mode: str = "ok", **kwargs) -> None:
    """The sink's next webhook calls answer `mode` (`times`, `retry_after`, `delay`)."""
    requests.post(
        f"{_slack_sink()}/_control", json={"mode": mode, **kwargs}, timeout=5
    ).raise_for_status()


def slack_reset() -> None:
    """Forget the sink's messages and counts; answer ok."""
    requests.delete(f"{_slack_sink()}/_messages", timeout=5).raise_for_status()
    slack_control("ok")


def slack_record() -> dict:
    """{"messages": [{"payload": ...}], "rejected": n, "calls": n} since the last reset."""
    return requests.get(f"{_slack_sink()}/_messages", timeout=5).json()


def slack_texts() -> list[str]:
    return [m["payload"].get("text", "") for m in slack_record()["messages"]]


def quiet_outbox() -> None:
    """Earlier tests' undelivered alerts are not this test's business: mark them handled
    (pending and sending rows sent, dead rows already named in a summary)."""
    from include.connections import pg_connect

    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(
            "update quality.alert_outbox set status = 'sent' where status in ('pending', 'sending')"
        )
        conn.execute(
            "update quality.alert_outbox set dead_notified_at = now() "
            "where status = 'dead' and dead_notified_at is null"
        )


YELP_TABLES = (
    "city",
    "business",
    "category",
    "business_category",
    "transaction_type",
    "business_transaction",
    "yelp_user",
    "review",
    "business_holding",
)


def reset_yelp() -> None:
    """Forget every earlier Yelp run, in source_db (raw, queue, OLTP, its lake exports) and
    in the PostgreSQL warehouse (staging, snapshots, the holdings mart), so a test that
    truncates Yelp leaves no half-state for the warehouse tests after it."""
    from include.connections import pg_connect

    source_tables = [f"oltp.{t}" for t in YELP_TABLES] + [
        "raw.yelp_search",
        "raw.yelp_review",
        "raw.yelp_business_move",
        "raw.yelp_quarantine",
        "yelp.progress",
    ]
    with pg_connect("source_db", autocommit=True) as conn:
        present = [
            t for t in source_tables if conn.execute("select to_regclass(%s)", (t,)).fetchone()[0]
        ]
        conn.execute(f"truncate {', '.join(present)}")
        conn.execute("delete from lake.exports where table_name = any(%s)", (list(YELP_TABLES),))
    with pg_connect("warehouse_db", autocommit=True) as wh:
        # Emptied, not dropped: the staging tables belong to the staging migrations.
        for table in YELP_TABLES:
            if wh.execute("select to_regclass(%s)", (f"staging.{table}",)).fetchone()[0]:
                wh.execute(f"truncate staging.{table}")
        for snap in (
            "snap_business",
            "snap_business_category",
            "snap_business_transaction",
            "snap_yelp_user",
        ):
            wh.execute(f"drop table if exists snapshots.{snap} cascade")
        wh.execute("drop table if exists marts.fct_business_holding cascade")
