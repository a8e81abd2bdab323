"""Incremental export of the OLTP tables to the S3 lake as Parquet.

For day D each OLTP table's rows with `updated_at` above the watermark of the latest export
of an earlier day are streamed through a server-side cursor into Arrow record batches and a
Parquet file at the deterministic key `<prefix>/<table>/dt=D/part-0000.parquet`. A rerun of
D uses the same lower bound and overwrites the same key. A day with no change still gets a
(zero-row) file, so the warehouse load can tell "nothing changed" from "not exported".

Day tables (`day_column` set: the Amplitude raw events and properties) are exported whole
for their day instead: the rows of `<schema>.<table>` whose `day_column` is D, so a rerun of
the raw day followed by a rerun of the export replaces the day in the lake and the warehouse.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date

BATCH_ROWS = 50_000


@dataclass(frozen=True)
class LakeTable:
    name: str
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (column, arrow type name)
    schema: str = "oltp"  # the source schema in source_db
    day_column: str | None = None  # set: export the rows of day D, not an updated_at delta

    def arrow_schema(self):
        import pyarrow as pa

        types = {"string": pa.string(), "bool": pa.bool_(), "int16": pa.int16(),
                 "int64": pa.int64(), "float64": pa.float64(), "date": pa.date32(),
                 "timestamp": pa.timestamp("us", tz="UTC")}
        return pa.schema([pa.field(c, types[t], nullable=c not in self.key)
                          for c, t in self.columns])


TABLES = (
    LakeTable("state", ("state_code",), (("state_code", "string"), ("state_name", "string"),
                                         ("is_state", "bool"), ("updated_at", "timestamp"))),
    LakeTable("census_state", ("state_fips",), (("state_fips", "string"),
                                                ("state_name", "string"),
                                                ("updated_at", "timestamp"))),
    LakeTable("county", ("county_fips",), (("county_fips", "string"), ("state_fips", "string"),
                                           ("county_name", "string"),
                                           ("updated_at", "timestamp"))),
    LakeTable("county_population", ("county_fips", "population_year"),
              (("county_fips", "string"), ("population_year", "int16"),
               ("population", "int64"), ("updated_at", "timestamp"))),
    # Yelp (issue 4)
    LakeTable("city", ("state_code", "city_name"),
              (("state_code", "string"), ("city_name", "string"), ("county_fips", "string"),
               ("updated_at", "timestamp"))),
    LakeTable("business", ("business_id",),
              (("business_id", "string"), ("alias", "string"), ("business_name", "string"),
               ("address1", "string"), ("address2", "string"), ("address3", "string"),
               ("zip_code", "string"), ("phone", "string"), ("url", "string"),
               ("price_level", "int16"), ("latitude", "float64"), ("longitude", "float64"),
               ("state_code", "string"), ("city_name", "string"), ("county_fips", "string"),
               ("changed_on", "date"), ("updated_at", "timestamp"))),
    LakeTable("category", ("category_alias",),
              (("category_alias", "string"), ("title", "string"), ("updated_at", "timestamp"))),
    LakeTable("business_category", ("business_id", "category_alias"),
              (("business_id", "string"), ("category_alias", "string"), ("is_current", "bool"),
               ("updated_at", "timestamp"))),
    LakeTable("transaction_type", ("transaction_type",),
              (("transaction_type", "string"), ("updated_at", "timestamp"))),
    LakeTable("business_transaction", ("business_id", "transaction_type"),
              (("business_id", "string"), ("transaction_type", "string"),
               ("is_current", "bool"), ("updated_at", "timestamp"))),
    LakeTable("yelp_user", ("user_id",),
              (("user_id", "string"), ("user_name", "string"), ("profile_url", "string"),
               ("image_url", "string"), ("updated_at", "timestamp"))),
    LakeTable("review", ("review_id",),
              (("review_id", "string"), ("business_id", "string"), ("user_id", "string"),
               ("rating", "int16"), ("text_excerpt", "string"), ("created_at", "timestamp"),
               ("updated_at", "timestamp"))),
    LakeTable("business_holding", ("business_id", "holding_date"),
              (("business_id", "string"), ("holding_date", "date"), ("rating", "float64"),
               ("review_count", "int64"), ("is_closed", "bool"), ("updated_at", "timestamp"))),
    # Amplitude (issue 5): raw events of export day D (one row per event key) and their
    # property rows, exported whole per day.
    LakeTable("amplitude_event", ("export_day", "event_key"),
              (("export_day", "date"), ("event_key", "string"), ("insert_id", "string"),
               ("uuid", "string"), ("event_id", "int64"), ("amplitude_id", "int64"),
               ("user_id", "string"), ("device_id", "string"), ("session_id", "int64"),
               ("event_time", "timestamp"), ("client_event_time", "timestamp"),
               ("server_upload_time", "timestamp"), ("event_type", "string"),
               ("platform", "string"), ("os_name", "string"), ("country", "string"),
               ("city", "string"), ("paying", "bool"), ("archive_key", "string"),
               ("member", "string"), ("line_number", "int64")),
              schema="raw", day_column="export_day"),
    LakeTable("amplitude_event_property", ("export_day", "event_key", "property_type", "key"),
              (("export_day", "date"), ("event_key", "string"), ("property_type", "string"),
               ("key", "string"), ("value", "string")),
              schema="raw", day_column="export_day"),
)


def lake_location(conn_id: str = "lake_s3"):
    """(boto3 S3 client, bucket, prefix) from the `lake_s3` connection."""
    import boto3

    from include.connections import get_connection

    conn = get_connection(conn_id)
    extra = conn.extra_dejson
    uri = extra.get("lake_uri", "")
    if not uri.startswith("s3://"):
        raise ValueError("lake_s3 connection needs extra lake_uri = s3://bucket/prefix")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    client = boto3.client("s3", endpoint_url=extra.get("endpoint_url"),
                          aws_access_key_id=conn.login or None,
                          aws_secret_access_key=conn.password or None,
                          region_name=extra.get("region_name"))
    return client, bucket, prefix.strip("/")


def object_key(prefix: str, table: str, day: date) -> str:
    return f"{prefix}/{table}/dt={day.isoformat()}/part-0000.parquet".lstrip("/")


def export_table(conn, s3, bucket: str, prefix: str, table: LakeTable, day: date,
                 schema: str | None = None) -> dict:
    """Export `<schema>.<table>` (the table's own schema unless a benchmark points it
    elsewhere)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from psycopg import sql

    schema = schema or table.schema
    lower = None if table.day_column else conn.execute(
        "select max(watermark_to) from lake.exports where table_name = %s and day < %s",
        (table.name, day)).fetchone()[0]
    arrow_schema = table.arrow_schema()
    cols = [c for c, _ in table.columns]
    where = sql.SQL("{} = %(day)s").format(sql.Identifier(table.day_column)) \
        if table.day_column else \
        sql.SQL("%(lower)s::timestamptz is null or updated_at > %(lower)s")
    query = sql.SQL("select {cols} from {s}.{t} where {where} order by {key}").format(
        # numeric columns (e.g. a rating) leave PostgreSQL as float8 for Arrow's float64.
        cols=sql.SQL(", ").join(
            sql.SQL("{}::float8").format(sql.Identifier(c)) if t == "float64"
            else sql.Identifier(c) for c, t in table.columns), s=sql.Identifier(schema),
        t=sql.Identifier(table.name), where=where,
        key=sql.SQL(", ").join(map(sql.Identifier, table.key)))
    rows = 0
    upper = lower
    key = object_key(prefix, table.name, day)
    with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
        with conn.transaction(), conn.cursor(name=f"export_{table.name}") as cur:
            cur.itersize = BATCH_ROWS
            cur.execute(query, {"lower": lower, "day": day})
            with pq.ParquetWriter(tmp.name, arrow_schema, compression="snappy") as writer:
                while batch := cur.fetchmany(BATCH_ROWS):
                    columns = list(zip(*batch))
                    record = pa.RecordBatch.from_arrays(
                        [pa.array(col, type=f.type) for col, f in zip(columns, arrow_schema)],
                        schema=arrow_schema)
                    writer.write_batch(record)
                    rows += len(batch)
                    if not table.day_column:
                        batch_max = max(columns[cols.index("updated_at")])
                        upper = batch_max if upper is None else max(upper, batch_max)
        s3.upload_file(tmp.name, bucket, key)
    conn.execute(
        "insert into lake.exports (table_name, day, watermark_from, watermark_to, row_count, "
        "s3_key) values (%s, %s, %s, %s, %s, %s) on conflict (table_name, day) do update set "
        "watermark_from = excluded.watermark_from, watermark_to = excluded.watermark_to, "
        "row_count = excluded.row_count, s3_key = excluded.s3_key, exported_at = now()",
        (table.name, day, lower, upper, rows, key))
    return {"table": table.name, "rows": rows, "key": key}


def export_day(day: date, source_conn_id: str = "source_db") -> list[dict]:
    from include.connections import pg_connect

    s3, bucket, prefix = lake_location()
    with pg_connect(source_conn_id, autocommit=True) as conn:
        return [export_table(conn, s3, bucket, prefix, t, day) for t in TABLES]
