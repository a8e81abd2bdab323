"""The states page in the lake: `oltp.state`, exported incrementally (updated_at)."""

from include.lake.table import LakeTable

TABLES = (
    LakeTable(
        "state",
        ("state_code",),
        (
            ("state_code", "string"),
            ("state_name", "string"),
            ("is_state", "bool"),
            ("updated_at", "timestamp"),
        ),
    ),
)
