"""raw.states_page batch -> oltp.state (unchanged rows untouched)."""

from __future__ import annotations

import uuid

from include.landing import RawTable, read_sql, upsert

RAW_TABLE = RawTable("states_page", ("state_name", "state_code", "is_state"))


def normalize_states(conn, batch_id: uuid.UUID) -> dict[str, int]:
    with conn.transaction():
        n = upsert(
            conn,
            "state",
            ("state_code",),
            ("state_code", "state_name", "is_state"),
            read_sql(__file__, "state"),
            {"b": batch_id},
        )
    return {"oltp.state": n}
