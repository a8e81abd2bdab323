"""Check results, one row each in `quality.check_results`: the raw-batch suites
(`include.quality.gx`), dbt tests (`include.dbt.runner`), dbt source freshness
(`include.quality.freshness`) and the Postgres <-> warehouse reconciliation
(`include.warehouse.reconcile`). Slack alerts: `include.quality.alerts`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


class DataQualityError(RuntimeError):
    """A blocking check failed: the batch must not be normalized."""


@dataclass
class CheckResult:
    check_name: str
    dimension: str
    target: str
    status: str
    observed: object = None
    expected: object = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RunContext:
    run_id: str
    dag_id: str
    task_id: str
    logical_date: object


def check(name, dimension, target, ok, observed, expected, **details) -> CheckResult:
    """A pass/fail CheckResult: `ok` decides the status."""
    return CheckResult(
        name, dimension, target, "pass" if ok else "fail", observed, expected, details
    )


def record_checks(conn, ctx: RunContext, results: list[CheckResult]) -> None:
    """Replace this run+task+day's earlier results (a retry re-records), then insert. A
    task that processes several days keeps each day's results. Observed and expected
    values and details are redacted first (include.connections.secrets): an error text
    that quotes a URL or a connection string keeps no secret here."""
    from include.connections.secrets import load_all, redact, redact_obj

    load_all()
    with conn.transaction():
        conn.execute(
            "delete from quality.check_results where run_id = %s and dag_id = %s "
            "and task_id = %s and logical_date is not distinct from %s",
            (ctx.run_id, ctx.dag_id, ctx.task_id, ctx.logical_date),
        )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into quality.check_results (run_id, dag_id, task_id, logical_date, "
                "check_name, dimension, target, status, observed, expected, details) "
                "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                [
                    (
                        ctx.run_id,
                        ctx.dag_id,
                        ctx.task_id,
                        ctx.logical_date,
                        r.check_name,
                        r.dimension,
                        r.target,
                        r.status,
                        None if r.observed is None else redact(str(r.observed)),
                        None if r.expected is None else redact(str(r.expected)),
                        json.dumps(redact_obj(r.details), default=str),
                    )
                    for r in results
                ],
            )


def raise_on_failures(results: list[CheckResult]) -> None:
    failed = [r.check_name for r in results if r.status in ("fail", "error")]
    if failed:
        raise DataQualityError(f"blocking checks failed: {', '.join(failed)}")
