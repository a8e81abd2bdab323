"""The source registry: one folder per upstream system, one line here per source.

Each `include/sources/<name>/` holds everything that source needs (client, pure parser,
checks, normalize step and its SQL, lake tables, settings, README) and exposes
`ingest_day(day, ctx)`, the entry point its DAG calls. Shared code (`include.lake`,
`include.runs.taxonomy`, the warehouse reconciliation) reads the sources from here, so a
fifth source is a new folder plus its name below (and its Asset in include/runs/assets.py).

The order is the order of the lake export and the reconciliation: a source after the
sources whose OLTP tables it references.
"""

from __future__ import annotations

SOURCES = (
    "states_page",
    "census",
    "yelp",
    "amplitude",
)
