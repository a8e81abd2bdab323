"""dbt source freshness, as the warehouse DAG runs it: one `timeliness` row per source table
that declares freshness (dbt_project/models/staging/*/_*__sources.yml) in
quality.check_results, on both warehouse targets. Past `error_after` the check fails, the
`source_freshness` task fails (no retry: a retry cannot make old data new) and its failure
alert, through the outbox, names the stale table; past `warn_after` it is a recorded warn.

"Old" is written as SQL on staging's `_loaded_at` (what dbt measures), aged and restored."""

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from include.connections import pg_connect
from include.quality import RunContext
from local import config as cfg

pytestmark = pytest.mark.integration
DAY = date(2024, 1, 15)
ROOT = Path(__file__).resolve().parents[3]


def _declared() -> set[str]:
    """`<source>.<table>` of every source in the manifest that has a freshness rule."""
    manifest = json.loads((ROOT / "dbt_project" / "target" / "manifest.json").read_text())
    out = set()
    for s in manifest["sources"].values():
        f = s.get("freshness") or {}
        if (f.get("warn_after") or {}).get("count") or (f.get("error_after") or {}).get("count"):
            out.add(f"{s['source_name']}.{s['name']}")
    return out


def _stage(warehouse: str, monkeypatch) -> str:
    """Day D staged now on `warehouse` (so every declared table is fresh); its name."""
    if warehouse == "bigquery":
        import socket

        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((cfg.HOST, cfg.BQ_REST_PORT)) == 0, "run `make emulators`"
        for k, v in cfg.emulator_settings().items():
            monkeypatch.setenv(k, v)
    monkeypatch.setenv("WAREHOUSE", warehouse)
    from include.lake.export import export_day
    from include.warehouse import load_days
    from tests.helpers import failures, run_day

    with pg_connect("source_db") as conn:
        landed = conn.execute(
            "select count(distinct source) from raw.landed_days where day = %s", (DAY,)
        ).fetchone()[0]
    if landed < 4:
        # Every source lands D (and, on the target, the whole warehouse path runs once).
        assert not failures(run_day(DAY, f"freshness-setup-{uuid.uuid4().hex[:8]}"))
    export_day(DAY)
    load_days([DAY])
    return warehouse


@pytest.fixture(params=["postgres", "bigquery"])
def target(request, monkeypatch):
    return _stage(request.param, monkeypatch)


def _age(target: str, table: str, hours: int) -> None:
    """Move every `_loaded_at` of staging.<table> `hours` into the past (negative: back)."""
    if target == "postgres":
        with pg_connect("warehouse_db", autocommit=True) as wh:
            wh.execute(
                f"update staging.{table} set _loaded_at = _loaded_at - make_interval(hours => %s)",
                (hours,),
            )
    else:
        from include.warehouse.bigquery import clients

        settings, bq, _ = clients()
        bq.query(
            f"update `{settings.project}.staging.{table}` "
            f"set _loaded_at = timestamp_sub(_loaded_at, interval {hours} hour) where true"
        ).result()


def _ctx() -> RunContext:
    return RunContext(
        run_id=f"freshness-{uuid.uuid4().hex[:8]}",
        dag_id="warehouse",
        task_id="source_freshness",
        logical_date=DAY,
    )


def _rows(run_id: str) -> dict[str, tuple]:
    with pg_connect("source_db") as conn:
        return {
            r[0]: r[1:]
            for r in conn.execute(
                "select check_name, status, dimension, target, observed, expected, details "
                "from quality.check_results where run_id = %s",
                (run_id,),
            )
        }


def test_fresh_sources_pass_one_timeliness_row_per_declared_table(target):
    from include.quality.freshness import check_source_freshness

    ctx = _ctx()
    results = check_source_freshness(ctx)
    rows = _rows(ctx.run_id)
    declared = _declared()
    assert declared, "no source declares freshness"
    assert set(rows) == {f"freshness_{t.replace('.', '_')}" for t in declared}
    assert len(results) == len(rows)
    for name, (status, dimension, target_name, observed, expected, details) in rows.items():
        assert (status, dimension) == ("pass", "timeliness"), (name, status, details)
        assert target_name.startswith("staging.")
        assert float(observed) < 1  # hours since the load a moment ago
        assert "error after 72 hour" in expected and "warn after 36 hour" in expected
        assert details["warehouse"] == target and details["max_loaded_at"]


def test_stale_source_fails_warn_is_a_warn(target):
    """business_holding loaded 100 h ago is past error_after (72 h): fail, and the call
    raises after recording; amplitude_event loaded 48 h ago is past warn_after only. The
    states page loaded 100 h ago and unchanged since (its daily runs changed no row, so
    staging got no newer row) is not stale: its staging rows only say when it last changed."""
    from include.quality import DataQualityError
    from include.quality.freshness import check_source_freshness

    ctx = _ctx()
    _age(target, "business_holding", 100)
    _age(target, "amplitude_event", 48)
    _age(target, "state", 100)
    try:
        with pytest.raises(DataQualityError, match="freshness_yelp_business_holding"):
            check_source_freshness(ctx)
    finally:
        _age(target, "business_holding", -100)
        _age(target, "amplitude_event", -48)
        _age(target, "state", -100)
    rows = _rows(ctx.run_id)
    status, dimension, _, observed, expected, _ = rows["freshness_yelp_business_holding"]
    assert (status, dimension) == ("fail", "timeliness")
    assert 99 < float(observed) < 101 and "error after 72 hour" in expected
    assert rows["freshness_amplitude_amplitude_event"][0] == "warn"
    assert rows["freshness_amplitude_amplitude_event_property"][0] == "pass"
    assert rows.get("freshness_states_page_state", ("pass",))[0] == "pass"


def test_dag_task_fails_on_a_stale_source_and_alerts_through_the_outbox(monkeypatch):
    """The warehouse DAG's source_freshness task, run by dag.test(): a stale source fails it
    at once (no retry), and the failure alert (outbox, then the Slack sink) lists the failed
    freshness check. (The DAG is the same on both targets: PostgreSQL here.)"""
    target = _stage("postgres", monkeypatch)
    from airflow.dag_processing.dagbag import DagBag

    from tests.helpers import slack_reset, slack_texts

    monkeypatch.setenv("ELT_RETRY_DELAY_SECONDS", "1")
    slack_reset()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    warehouse = bag.get_dag("warehouse")
    assert "load_staging" in warehouse.get_task("source_freshness").upstream_task_ids
    only = warehouse.partial_subset(
        task_ids=["plan_days", "source_freshness"], include_upstream=False, include_downstream=False
    )
    _age(target, "business_holding", 100)
    try:
        dr = only.test(logical_date=datetime(2024, 1, 15, tzinfo=UTC))
    finally:
        _age(target, "business_holding", -100)
    (ti,) = [t for t in dr.get_task_instances() if t.task_id == "source_freshness"]
    assert (dr.state, ti.state, ti.try_number) == ("failed", "failed", 1)
    with pg_connect("source_db") as conn:
        kinds = dict(
            conn.execute(
                "select kind, payload->>'text' from quality.alert_outbox where run_id = %s",
                (dr.run_id,),
            ).fetchall()
        )
    assert "freshness_yelp_business_holding" in kinds["failed_checks"]
    assert "source_freshness" in kinds["task_failure"]
    assert any("freshness_yelp_business_holding" in t for t in slack_texts())
