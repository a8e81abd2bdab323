"""The Great Expectations runner: a source's suite on one raw batch, validated inside
PostgreSQL (SQL datasource, one query asset per batch), one CheckResult per expectation.

GX costs ~6 s to import: it is imported inside `validate_suite` only, never by a DAG file.

A `Suite` (each source defines its own in `include/sources/<name>/checks.py`) is the table
it checks, the query that selects one batch, and a list of `Check`s: the check_name and
dimension that quality.check_results keeps stable across releases, and the GX expectation
that decides it. Every raw-batch check is blocking: a fail or error stops the batch before
normalization (DataQualityError after recording), and the landed batch stays in raw.*.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from include.quality import CheckResult


@dataclass(frozen=True)
class Check:
    name: str
    dimension: str
    expectation: Callable[[], object]  # built lazily: GX is imported only when validating
    sample_key: str | None = None  # also record the unexpected sample under this detail key


@dataclass(frozen=True)
class Suite:
    name: str
    target: str  # the table checked, as recorded in check_results.target
    query: str  # selects one batch; `{batch_id}` is replaced by the batch's id or day
    checks: tuple[Check, ...]


def gxe():
    """great_expectations.expectations, imported on first use."""
    import great_expectations.expectations as expectations

    return expectations


def validate_suite(suite: Suite, batch_id, conn_id: str = "source_db") -> list[CheckResult]:
    """Run `suite` on raw batch `batch_id`; one CheckResult per expectation. An
    expectation GX could not evaluate is an `error` row with the exception message."""
    import great_expectations as gx

    from include.connections import get_connection

    suite_name, target, query, checks = suite.name, suite.target, suite.query, suite.checks
    conn = get_connection(conn_id)
    # The password reaches GX through config substitution from the environment, so the
    # connection string GX keeps (and may print) never contains it.
    os.environ["ELT_GX_DB_PASSWORD"] = conn.password or ""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_postgres(
        name=conn_id,
        connection_string=(
            f"postgresql+psycopg://{conn.login}:${{ELT_GX_DB_PASSWORD}}@{conn.host}:"
            f"{conn.port or 5432}/{conn.schema}"
        ),
    )
    asset = source.add_query_asset(name=suite_name, query=query.format(batch_id=batch_id))
    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for check in checks:
        expectation = check.expectation()
        expectation.meta = {"check_name": check.name}
        gx_suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=f"{suite_name}_batch",
            data=asset.add_batch_definition_whole_table("batch"),
            suite=gx_suite,
        )
    )
    result = validation.run(result_format="SUMMARY")
    # GX does not keep the suite's order in its results: match them by the check name each
    # expectation carries in its meta.
    by_name = {r.expectation_config.meta["check_name"]: r for r in result.results}
    missing = [c.name for c in checks if c.name not in by_name]
    if missing:
        raise RuntimeError(f"GX returned no result for {missing}")
    return [_to_check_result(check, by_name[check.name], target) for check in checks]


def _to_check_result(check: Check, r, target: str) -> CheckResult:
    from include.connections.secrets import redact

    res = r.result or {}
    exc = r.exception_info or {}
    if exc.get("raised_exception"):
        return CheckResult(
            check.name,
            check.dimension,
            target,
            "error",
            None,
            None,
            {
                "expectation": r.expectation_config.type,
                # redacted before the cut, so no part of a secret survives it
                "error": redact(str(exc.get("exception_message")))[:500],
            },
        )
    kwargs = {
        k: v
        for k, v in r.expectation_config.kwargs.items()
        if k not in ("batch_id", "unexpected_rows_query")
    }
    if "unexpected_count" in res:
        observed, expected = res["unexpected_count"], 0
    else:
        observed = res.get("observed_value")
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        expected = kwargs.get(
            "value", lo if lo == hi else f">= {lo}" if hi is None else f"{lo}..{hi}"
        )
    details = {"expectation": r.expectation_config.type, "kwargs": kwargs}
    if res.get("partial_unexpected_list"):
        sample = res["partial_unexpected_list"]
        details["unexpected_sample"] = sorted({str(v) for v in sample})[:20]
        if check.sample_key:
            details[check.sample_key] = details["unexpected_sample"]
    if "element_count" in res:
        details["rows"] = res["element_count"]
    return CheckResult(
        check.name,
        check.dimension,
        target,
        "pass" if r.success else "fail",
        observed,
        expected,
        details,
    )
