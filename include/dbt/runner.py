"""Run dbt (in-process, dbtRunner) against the warehouse connection, and record dbt test
results in quality.check_results.

    python -m include.dbt.runner parse     # builds dbt_project/target/manifest.json
    python -m include.dbt.runner build     # dbt build against the WAREHOUSE target

The DAGs run dbt through cosmos (include/dbt/cosmos.py); this module is the CLI path and the
run_results -> check_results recorder both paths share. The `warehouse_db` connection is
handed to dbt through DBT_PG_* variables read by dbt_project/profiles.yml.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from include.dbt import PROJECT_DIR

DIMENSIONS = {
    "unique": "uniqueness",
    "not_null": "completeness",
    "relationships": "consistency",
    "dbt_unique_combination": "uniqueness",
    "accepted_values": "validity",
}


def dbt_env() -> dict[str, str]:
    """The profile variables for the target WAREHOUSE picks, from its Airflow connection."""
    from include.connections import get_connection

    if os.environ.get("WAREHOUSE", "postgres").lower() == "bigquery":
        from include.warehouse.bigquery import gcp_settings

        settings = gcp_settings()
        extra = get_connection("google_cloud_default").extra_dejson
        env = {
            "DBT_TARGET": "bigquery",
            "DBT_BQ_PROJECT": settings.project,
            "DBT_BQ_LOCATION": settings.location,
        }
        if settings.emulator:
            env.update(
                DBT_BQ_METHOD="oauth-secrets",
                DBT_BQ_TOKEN="emulator",
                DBT_BQ_API_ENDPOINT=settings.emulator,
            )
        elif extra.get("keyfile_dict"):
            # A key inline would end up in a profiles.yml on disk (cosmos caches profiles).
            raise ValueError(
                "google_cloud_default: use extra key_path (a mounted key file) or "
                "ADC for dbt, not keyfile_dict"
            )
        elif extra.get("key_path"):
            env.update(DBT_BQ_METHOD="service-account", DBT_BQ_KEYFILE=extra["key_path"])
        else:
            env.update(DBT_BQ_METHOD="oauth")
        return env
    conn = get_connection("warehouse_db")
    return {
        "DBT_TARGET": "postgres",
        "DBT_PG_HOST": conn.host,
        "DBT_PG_PORT": str(conn.port or 5432),
        "DBT_PG_USER": conn.login,
        "DBT_PG_PASSWORD": conn.password or "",
        "DBT_PG_DBNAME": conn.schema,
    }


def _invoke(args: list[str], with_connection: bool = True):
    from dbt.cli.main import dbtRunner

    if with_connection:
        os.environ.update(dbt_env())
    return dbtRunner().invoke(
        args + ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    )


def run_dbt(args: list[str], with_connection: bool = True):
    result = _invoke(args, with_connection)
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception or 'see log'}")
    return result


def test_results(project_dir: str | Path) -> list:
    """Every test in <project_dir>/target/run_results.json as a CheckResult; the manifest
    written by the same invocation names the test kind and the model it is attached to."""
    from include.quality import CheckResult

    target = Path(project_dir) / "target"
    run_results = json.loads((target / "run_results.json").read_text())
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    checks = []
    for r in run_results["results"]:
        node = nodes.get(r["unique_id"], {})
        if node.get("resource_type") != "test" and not r["unique_id"].startswith("test."):
            continue
        kind = (node.get("test_metadata") or {}).get("name", "singular")
        checks.append(
            CheckResult(
                check_name=f"dbt:{node.get('name', r['unique_id'])}",
                dimension=DIMENSIONS.get(kind, "validity"),
                target=node.get("attached_node") or node.get("name") or r["unique_id"],
                status=str(r["status"])
                if str(r["status"]) in ("pass", "warn", "fail")
                else "error",
                observed=r.get("failures") or 0,
                expected=0,
                details={
                    "message": r.get("message")
                    or (
                        "skipped: not evaluated because an upstream node failed"
                        if r["status"] == "skipped"
                        else ""
                    ),
                    "unique_id": r["unique_id"],
                },
            )
        )
    return checks


def record_run_results(project_dir: str | Path, ctx) -> list:
    from include.connections import pg_connect
    from include.quality import record_checks

    checks = test_results(project_dir)
    with pg_connect("source_db", autocommit=True) as conn:
        record_checks(conn, ctx, checks)
    return checks


def record_run_results_callback(project_dir: str, context=None, **_) -> None:
    """cosmos `callback`: runs after each dbt invocation, before a failure is raised."""
    from include.runs import run_context
    from include.warehouse.plan import run_days

    if not (Path(project_dir) / "target" / "run_results.json").is_file():
        return
    day = run_days(context)[-1]  # the latest day of the warehouse run's plan
    checks = record_run_results(project_dir, run_context(context, context["ti"].task_id, day=day))
    failed = [c.check_name for c in checks if c.status in ("fail", "error")]
    print(
        f"recorded {len(checks)} dbt test results in quality.check_results"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )


def build_and_record(ctx) -> list:
    """`dbt build` (snapshots, models, tests in DAG order); every test result becomes a row
    in quality.check_results. Raises after recording if dbt failed."""
    result = _invoke(["build"])
    checks = record_run_results(PROJECT_DIR, ctx)
    if not result.success:
        raise RuntimeError(f"dbt build failed: {result.exception or _failed_nodes()}")
    return checks


def source_freshness() -> dict:
    """`dbt source freshness` for every source with a freshness rule, on the WAREHOUSE
    target, in-process; returns {"results": [...]} in the shape of target/sources.json,
    plus what that file leaves out: the sources dbt could not evaluate ("runtime error",
    with dbt's `message`). dbt writes into a temporary target and log directory, so the
    manifest the DAGs render from (dbt_project/target) is never rewritten under a parse."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dbt-freshness-") as tmp:
        result = _invoke(
            [
                "source",
                "freshness",
                "--target-path",
                tmp,
                "--log-path",
                tmp,
                "--output",
                str(Path(tmp) / "sources.json"),
            ]
        )
    if result.result is None:  # dbt itself failed (profile, connection, project)
        raise RuntimeError(f"dbt source freshness failed: {result.exception or 'see log'}")
    out = []
    for r in result.result.results:
        node = r.node
        rules = node.freshness.to_dict() if node.freshness else {}
        item = {
            "unique_id": node.unique_id,
            "status": str(r.status),
            "criteria": rules,
            "message": r.message or "",
        }
        if getattr(r, "max_loaded_at", None) is not None:
            item.update(
                max_loaded_at=r.max_loaded_at.isoformat(),
                snapshotted_at=r.snapshotted_at.isoformat(),
                max_loaded_at_time_ago_in_s=r.age,
            )
        out.append(item)
    return {"results": sorted(out, key=lambda i: i["unique_id"])}


def _failed_nodes(limit: int = 10) -> str:
    """The nodes the last invocation did not pass, with dbt's message, for the error text."""
    path = PROJECT_DIR / "target" / "run_results.json"
    if not path.is_file():
        return "no run_results.json (see the dbt log above)"
    failed = [
        f"{r['unique_id']} {r['status']}: {(r.get('message') or '').strip()[:200]}"
        for r in json.loads(path.read_text())["results"]
        if str(r["status"]) not in ("success", "pass", "warn", "skipped")
    ]
    return "; ".join(failed[:limit]) or "see the dbt log above"


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["parse"]:
        # No connection needed: the manifest only describes the project.
        run_dbt(["parse"], with_connection=False)
        print(f"manifest: {PROJECT_DIR / 'target' / 'manifest.json'}")
        return 0
    if args[:1] == ["build"]:
        run_dbt(["build"])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
