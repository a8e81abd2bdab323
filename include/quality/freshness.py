"""dbt source freshness as timeliness checks: one `quality.check_results` row per source table
that declares a freshness rule (dbt_project/models/staging/<source>/_<source>__sources.yml),
on whichever warehouse target is in force.

dbt measures the age of the newest `_loaded_at` in staging (when the warehouse load wrote
the row) against the warehouse's clock, with the table's `warn_after` / `error_after`:

- `pass`, `warn` (past warn_after) and `fail` (past error_after: the source is stale);
- a table with no row yet (a new deployment, a source that never delivered) is a `warn`
  ("never loaded"), not a stale source;
- anything dbt could not evaluate (a database error) is an `error`: not evaluated, never
  a pass.

`check_source_freshness` records them, then raises `StaleSourceError` (a DataQualityError)
when a table is stale, or RuntimeError when one could not be evaluated: the warehouse DAG's
`source_freshness` task fails, and its failure alert lists the failed checks (Slack through
the outbox, include.quality.alerts).
"""

from __future__ import annotations

from include.quality import CheckResult, DataQualityError, RunContext

STATUSES = {"pass": "pass", "warn": "warn", "error": "fail"}
NEVER_LOADED_MARKERS = ("does not exist", "not found", "received value 'none'")


class StaleSourceError(DataQualityError):
    """A source table's newest staged row is older than its freshness error_after."""


def _threshold(rule: dict | None) -> str | None:
    if not rule or not rule.get("count"):
        return None
    return f"{rule['count']} {rule['period']}"


def _expected(criteria: dict) -> str:
    parts = []
    for key in ("warn_after", "error_after"):
        value = _threshold(criteria.get(key))
        if value:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(parts)


def freshness_checks(sources: dict, warehouse: str) -> list[CheckResult]:
    """dbt's freshness results (the shape of target/sources.json; a result dbt could not
    evaluate carries `message`) as CheckResults."""
    checks = []
    for r in sources["results"]:
        _, _, source, table = r["unique_id"].split(".", 3)
        criteria = r.get("criteria") or {}
        dbt_status = str(r["status"])
        message = r.get("message") or ""
        max_loaded_at = r.get("max_loaded_at")
        age_s = r.get("max_loaded_at_time_ago_in_s")
        never_loaded = (max_loaded_at or "").startswith("0001-") or (
            dbt_status == "runtime error"
            and any(m in message.lower() for m in NEVER_LOADED_MARKERS)
        )
        if never_loaded:
            status = "warn"
            message = f"never loaded: staging.{table} holds no row yet ({message or 'empty'})"
            age_s = max_loaded_at = None
        else:
            status = STATUSES.get(dbt_status, "error")
        checks.append(
            CheckResult(
                check_name=f"freshness_{source}_{table}",
                dimension="timeliness",
                target=f"staging.{table}",
                status=status,
                # Hours since the newest staged row (None: nothing staged, or not evaluated).
                observed=None if age_s is None else round(age_s / 3600, 1),
                expected=_expected(criteria),
                details={
                    "warehouse": warehouse,
                    "unique_id": r["unique_id"],
                    "dbt_status": dbt_status,
                    "max_loaded_at": max_loaded_at,
                    "snapshotted_at": r.get("snapshotted_at"),
                    "age_seconds": age_s,
                    "message": message[:1000],
                },
            )
        )
    return checks


def check_source_freshness(ctx: RunContext, conn_id: str = "source_db") -> list[CheckResult]:
    """`dbt source freshness` on the WAREHOUSE target, recorded under `ctx`; raises after
    recording (see the module docstring). Returns the checks."""
    import os

    from include.connections import pg_connect
    from include.dbt.runner import source_freshness
    from include.quality import record_checks

    warehouse = os.environ.get("WAREHOUSE", "postgres").lower()
    checks = freshness_checks(source_freshness(), warehouse)
    with pg_connect(conn_id, autocommit=True) as conn:
        record_checks(conn, ctx, checks)
    stale = [c for c in checks if c.status == "fail"]
    if stale:
        raise StaleSourceError(
            "stale sources (newest staged row older than error_after): "
            + ", ".join(f"{c.check_name} ({c.observed} h; {c.expected})" for c in stale)
        )
    unknown = [c for c in checks if c.status == "error"]
    if unknown:
        raise RuntimeError(
            "source freshness could not be evaluated for: "
            + "; ".join(f"{c.check_name}: {c.details['message'][:200]}" for c in unknown)
        )
    return checks
