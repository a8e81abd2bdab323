"""Run dbt (in-process, dbtRunner) against the warehouse connection.

    python -m include.dbt_runner build|parse

The `warehouse_db` connection is handed to dbt through DBT_PG_* variables read by
dbt_project/profiles.yml, so credentials stay in the connection.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def dbt_env(conn_id: str = "warehouse_db") -> dict[str, str]:
    from include.connections import get_connection

    conn = get_connection(conn_id)
    return {"DBT_PG_HOST": conn.host, "DBT_PG_PORT": str(conn.port or 5432),
            "DBT_PG_USER": conn.login, "DBT_PG_PASSWORD": conn.password or "",
            "DBT_PG_DBNAME": conn.schema}


def run_dbt(args: list[str]) -> "object":
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_env())
    result = dbtRunner().invoke(args + ["--project-dir", str(PROJECT_DIR),
                                        "--profiles-dir", str(PROJECT_DIR)])
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception or 'see log'}")
    return result


DIMENSIONS = {"unique": "uniqueness", "not_null": "completeness",
              "relationships": "consistency", "dbt_unique_combination": "uniqueness"}


def build_and_record(ctx) -> list:
    """`dbt build` (snapshots, models, tests in DAG order); every test result becomes a row in
    quality.check_results. Raises after recording if dbt failed."""
    from dbt.cli.main import dbtRunner

    from include.connections import pg_connect
    from include.quality import CheckResult, record_checks

    os.environ.update(dbt_env())
    result = dbtRunner().invoke(["build", "--project-dir", str(PROJECT_DIR),
                                 "--profiles-dir", str(PROJECT_DIR)])
    checks = []
    for r in (result.result or []):
        if r.node.resource_type != "test":
            continue
        kind = r.node.test_metadata.name if r.node.test_metadata else "singular"
        status = {"pass": "pass", "warn": "warn", "fail": "fail"}.get(str(r.status), "error")
        checks.append(CheckResult(
            check_name=f"dbt:{r.node.name}", dimension=DIMENSIONS.get(kind, "validity"),
            target=r.node.attached_node or r.node.name, status=status,
            observed=r.failures or 0, expected=0, details={"message": r.message or ""}))
    with pg_connect("source_db", autocommit=True) as conn:
        record_checks(conn, ctx, checks)
    if not result.success:
        raise RuntimeError(f"dbt build failed: {result.exception or 'failed nodes above'}")
    return checks
