"""The warehouse interface: DAG tasks call `get_warehouse()` and never know
which target they talk to. `WAREHOUSE=postgres|bigquery` (env) picks it; postgres is the
default; bigquery stages through GCS into BigQuery (include/warehouse/bigquery.py).

Each target's staging tables come from versioned migrations (include/warehouse/migrations:
W<NNN>__*.sql for PostgreSQL, bigquery/W<NNN>__*.sql for BigQuery), which the load applies
when pending; it then refuses to load when a staging table's columns differ from the lake
registry (`check_staging_columns`)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Protocol

from include.lake.table import LakeTable

# The columns every staging table adds to its lake table's (registry type names).
LOAD_COLUMNS = (("_lake_day", "date"), ("_loaded_at", "timestamp"))


class SchemaDriftError(RuntimeError):
    """A lake file's schema differs from the lake registry (include/sources/<name>/lake.py)."""


class StagingSchemaError(SchemaDriftError):
    """A staging table's columns differ from the lake registry: a migration is missing."""


def check_staging_columns(
    where: str,
    tables: tuple[LakeTable, ...],
    found: Mapping[str, Mapping[str, str] | None],
    types: Mapping[str, str],
    folder: Path,
    prefix: str,
    add_column: Callable[[str, str, str], str],
) -> None:
    """Raise StagingSchemaError naming every table of `tables` whose staging columns
    (`found[name]`: column -> type as the target spells it; None: no such table) differ
    from its registered columns plus LOAD_COLUMNS, mapped through `types`. `where` names
    the staging schema or dataset; `folder`/`prefix` the migrations that build it;
    `add_column(table, column, type)` the statement a migration would add a column with."""
    from include.lake import table_source
    from include.migrations import files

    problems, example = [], None
    for table in tables:
        expected = {c: types[t] for c, t in table.columns + LOAD_COLUMNS}
        actual = found.get(table.name)
        if actual == expected:
            continue  # (a table no source registers, e.g. a benchmark's, can match too)
        lake_py = f"include/sources/{table_source(table.name)}/lake.py"
        if actual is None:
            problems.append(f"{where}.{table.name} does not exist ({lake_py} registers it)")
            continue
        missing = [c for c in expected if c not in actual]
        extra = [c for c in actual if c not in expected]
        retyped = [c for c in expected if c in actual and actual[c] != expected[c]]
        details = [f"missing {c} {expected[c]} (in {lake_py})" for c in missing]
        details += [f"{c} {actual[c]} is not in {lake_py}" for c in extra]
        details += [f"{c} is {actual[c]}, {lake_py} says {expected[c]}" for c in retyped]
        if details:
            problems.append(f"{where}.{table.name}: " + "; ".join(details))
            if missing and example is None:
                example = add_column(table.name, missing[0], expected[missing[0]])
    if not problems:
        return
    applied = [p.name for p in files(folder, prefix)]
    number = int(re.match(rf"{re.escape(prefix)}(\d+)", applied[-1])[1]) if applied else 0
    hint = f" (for a new column: {example})" if example else ""
    raise StagingSchemaError(
        "staging does not match the lake registry, nothing was loaded: "
        + " | ".join(problems)
        + f". Add a migration {folder}/{prefix}{number + 1:03d}__<what>.sql that brings "
        f"staging to the registry{hint}, then run the migrations (python -m "
        "include.migrations, or the next load, which applies pending ones first). "
        f"Applied: {', '.join(applied) or 'none'}."
    )


class Warehouse(Protocol):
    def load_day(self, day: date) -> dict[str, int]:
        """Load the day's lake files into staging, replacing that day atomically."""

    def staging_current_count(self, table: str, days: list[date] | None = None) -> int:
        """Distinct keys of a staging table (its latest version per key), of lake days
        `days` only when given."""

    def staging_latest_sum(self, table: str, column: str) -> int:
        """Sum of a numeric column over the latest version of each key."""

    def staging_days(self, table: str) -> list[date]:
        """The lake days a staging table holds."""

    def staging_day_stats(
        self, table: str, day: date, column: str | None = None
    ) -> tuple[int, int | None]:
        """(rows, sum of `column` or None) that staging holds for lake day `day`."""


def get_warehouse() -> Warehouse:
    target = os.environ.get("WAREHOUSE", "postgres").lower()
    if target == "postgres":
        from include.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse()
    if target == "bigquery":
        from include.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse()
    raise ValueError(f"WAREHOUSE={target!r}: expected 'postgres' or 'bigquery'")


def load_days(days: list[date]) -> dict[str, dict[str, int]]:
    """Load each day's lake files into the target's staging, in day order; returns the rows
    loaded per table, per day."""
    warehouse = get_warehouse()
    return {day.isoformat(): warehouse.load_day(day) for day in sorted(days)}
