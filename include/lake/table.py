"""A table of the lake registry: its key, its columns with their Arrow types, and how it is
exported (an updated_at delta, or whole per day for a day table)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LakeTable:
    name: str
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (column, arrow type name)
    schema: str = "oltp"  # the source schema in source_db
    day_column: str | None = None  # set: export the rows of day D, not an updated_at delta
    checksum_column: str | None = None  # set: its sum is reconciled with the warehouse

    def arrow_schema(self):
        import pyarrow as pa

        types = {
            "string": pa.string(),
            "bool": pa.bool_(),
            "int16": pa.int16(),
            "int64": pa.int64(),
            "float64": pa.float64(),
            "date": pa.date32(),
            "timestamp": pa.timestamp("us", tz="UTC"),
        }
        return pa.schema(
            [pa.field(c, types[t], nullable=c not in self.key) for c, t in self.columns]
        )
