"""Amplitude in the lake: the raw events of export day D (one row per event key) and
their property rows, exported whole per day (`day_column`), not as an updated_at delta."""

from include.lake.table import LakeTable

TABLES = (
    LakeTable(
        "amplitude_event",
        ("export_day", "event_key"),
        (
            ("export_day", "date"),
            ("event_key", "string"),
            ("insert_id", "string"),
            ("uuid", "string"),
            ("event_id", "int64"),
            ("amplitude_id", "int64"),
            ("user_id", "string"),
            ("device_id", "string"),
            ("session_id", "int64"),
            ("event_time", "timestamp"),
            ("client_event_time", "timestamp"),
            ("server_upload_time", "timestamp"),
            ("event_type", "string"),
            ("platform", "string"),
            ("os_name", "string"),
            ("country", "string"),
            ("city", "string"),
            ("paying", "bool"),
            ("archive_key", "string"),
            ("member", "string"),
            ("line_number", "int64"),
        ),
        schema="raw",
        day_column="export_day",
    ),
    LakeTable(
        "amplitude_event_property",
        ("export_day", "event_key", "property_type", "key"),
        (
            ("export_day", "date"),
            ("event_key", "string"),
            ("property_type", "string"),
            ("key", "string"),
            ("value", "string"),
        ),
        schema="raw",
        day_column="export_day",
    ),
)
