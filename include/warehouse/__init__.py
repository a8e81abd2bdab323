"""The warehouse interface: DAG tasks call `get_warehouse()` and never know
which target they talk to. `WAREHOUSE=postgres|bigquery` (env) picks it; postgres is the
default; bigquery stages through GCS into BigQuery (include/warehouse/bigquery.py)."""

from __future__ import annotations

import os
from datetime import date
from typing import Protocol


class SchemaDriftError(RuntimeError):
    """A lake file's schema differs from the lake registry (include/sources/<name>/lake.py)."""


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
