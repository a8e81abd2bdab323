"""Production warehouse target: BigQuery, staged through GCS.

Day D of each lake table moves S3 -> GCS (streamed object by object, resumable uploads, no
local copy), then ONE load job per table per run loads every file of the day into a
per-run table `staging._load_<table>_<yyyymmdd>` with the explicit schema of the lake
registry; once every table's job succeeded, ONE multi-statement transaction replaces D in
every `staging.<table>` at once (DELETE D + INSERT from the per-run tables). A rerun of D
leaves the same rows; a failed load or script leaves every staging table untouched (a day
is staged whole or not at all). No partition decorators: no emulator has
them, and the DELETE + INSERT is what keeps a day's replace atomic (the load-job quota is
1,500 per table per day; this uses one per table per run).

`staging.<table>` is partitioned by `_lake_day` and clustered on the table's key. The
tables come from versioned DDL files, include/warehouse/migrations/bigquery/W<NNN>__*.sql,
which the load applies when pending (`migrate`), recorded with their SHA-256 in
`staging.schema_migrations`; a changed applied file is refused (MigrationChanged). BigQuery
runs no DDL on permanent tables inside a transaction, so a file is not atomic: every
statement in it must be safe to run again ("if not exists"), and a file that failed
halfway runs again whole. Before loading, every staging table's columns (as a dry run of
`select *` reports them) must equal the lake registry's, or the load refuses
(StagingSchemaError: a migration is missing).

Connection `google_cloud_default` (type google_cloud_platform), extras:
  project        the GCP project (or `GOOGLE_CLOUD_PROJECT`)
  location       dataset/job location (default US)
  staging_uri    gs://bucket/prefix for the staged Parquet files
  key_path / keyfile_dict   service-account credentials (else ADC)
Locally, `BIGQUERY_EMULATOR_HOST` and `STORAGE_EMULATOR_HOST` point the clients at the
emulators (anonymous credentials).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from include.lake import TABLES, lake_location, lake_table, object_key
from include.lake.table import LakeTable
from include.warehouse import SchemaDriftError, check_staging_columns

BQ_TYPES = {
    "string": "STRING",
    "bool": "BOOL",
    "int16": "INT64",
    "int64": "INT64",
    "float64": "FLOAT64",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
STAGING_DATASET = "staging"
MIGRATIONS = Path(__file__).parent / "migrations" / "bigquery"
MIGRATION_PREFIX = "W"
HISTORY_TABLE = "schema_migrations"  # in the staging dataset
# BigQuery's legacy type names (what the API reports) -> the GoogleSQL names of BQ_TYPES.
_STANDARD_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}
JOB_PREFIX = "elt_load_"
# Every BigQuery job is waited for at most this long (a stuck job fails the task, with its id).
JOB_TIMEOUT_SECONDS = float(os.environ.get("ELT_BIGQUERY_JOB_TIMEOUT_SECONDS", "1800"))
# How long the first call may take to reach BigQuery before the endpoint is declared down.
CONNECT_DEADLINE_SECONDS = 60


class WarehouseLoadError(RuntimeError):
    """A BigQuery job failed: the message names the job id and its first errors."""


@dataclass(frozen=True)
class GcpSettings:
    project: str
    location: str
    bucket: str
    prefix: str
    emulator: str | None  # the emulator's base URL (http://...), or None for BigQuery


def gcp_settings(conn_id: str = "google_cloud_default") -> GcpSettings:
    from include.connections import get_connection

    extra = get_connection(conn_id).extra_dejson
    project = extra.get("project") or os.environ.get("GOOGLE_CLOUD_PROJECT")
    if not project:
        raise ValueError(f"{conn_id}: set extra 'project' (or GOOGLE_CLOUD_PROJECT)")
    staging_uri = extra.get("staging_uri", "")
    if not staging_uri.startswith("gs://"):
        raise ValueError(f"{conn_id}: set extra 'staging_uri' = gs://bucket/prefix")
    bucket, _, prefix = staging_uri.removeprefix("gs://").partition("/")
    emulator = os.environ.get("BIGQUERY_EMULATOR_HOST") or None
    if emulator and not emulator.startswith("http"):
        emulator = f"http://{emulator}"
    return GcpSettings(
        project=project,
        location=extra.get("location", "US"),
        bucket=bucket,
        prefix=prefix.strip("/"),
        emulator=emulator,
    )


def _reachable(url: str, what: str) -> None:
    """Fail at once, naming the endpoint, when nothing listens there (the clients would
    retry a refused connection for ten minutes)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url if "//" in url else f"http://{url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=5).close()
    except OSError as exc:
        raise ConnectionError(
            f"{what} endpoint {parts.hostname}:{port} is not reachable ({exc}); locally "
            "`make emulators` starts it"
        ) from None


def clients(conn_id: str = "google_cloud_default"):
    """(settings, bigquery.Client, storage.Client). Emulators get anonymous credentials;
    production uses the connection's service account or ADC through the google provider."""
    from google.cloud import bigquery, storage

    settings = gcp_settings(conn_id)
    if settings.emulator:
        _reachable(settings.emulator, "BigQuery emulator (BIGQUERY_EMULATOR_HOST)")
        if os.environ.get("STORAGE_EMULATOR_HOST"):
            _reachable(os.environ["STORAGE_EMULATOR_HOST"], "GCS emulator (STORAGE_EMULATOR_HOST)")
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        creds = AnonymousCredentials()
        bq = bigquery.Client(
            project=settings.project,
            credentials=creds,
            location=settings.location,
            client_options=ClientOptions(api_endpoint=settings.emulator),
        )
        # storage.Client honours STORAGE_EMULATOR_HOST itself.
        gcs = storage.Client(project=settings.project, credentials=creds)
        return settings, bq, gcs
    from airflow.providers.google.common.hooks.base_google import GoogleBaseHook

    creds, _ = GoogleBaseHook(gcp_conn_id=conn_id).get_credentials_and_project_id()
    return (
        settings,
        bigquery.Client(project=settings.project, credentials=creds, location=settings.location),
        storage.Client(project=settings.project, credentials=creds),
    )


def _schema(table: LakeTable):
    from google.cloud import bigquery

    return [
        bigquery.SchemaField(c, BQ_TYPES[t], mode="REQUIRED" if c in table.key else "NULLABLE")
        for c, t in table.columns
    ]


def _job_failed(job, what: str) -> WarehouseLoadError:
    errors = getattr(job, "errors", None) or []
    first = "; ".join(str(e.get("message", e)) for e in errors[:3]) or str(job.error_result)
    return WarehouseLoadError(f"{what}: BigQuery job {job.job_id} failed: {first}")


def gcs_key(prefix: str, table: str, day: date, name: str) -> str:
    # No `dt=` segment: BigQuery would not care, but the emulator's DuckDB reader infers a
    # hive partition column from `key=value` path segments.
    return f"{prefix}/{table}/{day.isoformat()}/{name}".lstrip("/")


class BigQueryWarehouse:
    def __init__(
        self,
        conn_id: str = "google_cloud_default",
        dataset: str = STAGING_DATASET,
        migrations: Path = MIGRATIONS,
    ):
        self.conn_id = conn_id
        self.dataset = dataset
        self.migrations = migrations
        self.load_jobs: dict[str, int] = {}  # load jobs issued per table by this instance

    def _dataset(self, settings: GcpSettings) -> str:
        return f"{settings.project}.{self.dataset}"

    def _ensure_dataset(self, bq, settings: GcpSettings) -> None:
        from google.cloud import bigquery

        dataset = bigquery.Dataset(self._dataset(settings))
        dataset.location = settings.location
        # The first call of a load: a down endpoint fails within a minute, not ten.
        bq.create_dataset(
            dataset,
            exists_ok=True,
            retry=bigquery.DEFAULT_RETRY.with_deadline(CONNECT_DEADLINE_SECONDS),
            timeout=CONNECT_DEADLINE_SECONDS,
        )

    def _script(self, bq, settings: GcpSettings, text: str):
        """Run `text` (one statement or a script) with the staging dataset as default."""
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(default_dataset=self._dataset(settings))
        return bq.query(text, job_config=config).result(timeout=JOB_TIMEOUT_SECONDS)

    def migrate(self, connected=None) -> list[str]:
        """Apply the pending DDL files of `self.migrations` to the staging dataset, in
        number order, each recorded (version, SHA-256) in `schema_migrations` once it
        succeeded; refuses (MigrationChanged) when an applied file changed. Returns the
        files applied. `connected`: the (settings, bq, gcs) of `clients()` if at hand."""
        from include.migrations import checksum, pending, verify_applied

        settings, bq, _ = connected or clients(self.conn_id)
        self._ensure_dataset(bq, settings)
        history = f"`{self._dataset(settings)}.{HISTORY_TABLE}`"
        self._script(
            bq,
            settings,
            f"create table if not exists {history} "
            "(version STRING, checksum STRING, applied_at TIMESTAMP)",
        )
        # Two loads applying the same file at once both record it: the rows are equal.
        applied = {
            r[0]: r[1]
            for r in self._script(bq, settings, f"select distinct version, checksum from {history}")
        }
        for path in verify_applied(applied, self.migrations):
            self._script(
                bq,
                settings,
                f"update {history} set checksum = '{checksum(path)}' where version = '{path.name}'",
            )
        done = []
        for path in pending(set(applied), self.migrations, MIGRATION_PREFIX):
            try:
                self._script(bq, settings, path.read_text())
            except Exception as exc:
                raise WarehouseLoadError(
                    f"BigQuery staging migration {path.name} failed (not recorded: once fixed "
                    f"it runs again whole, so its statements must be safe to repeat): {exc}"
                ) from exc
            self._script(
                bq,
                settings,
                f"insert into {history} (version, checksum, applied_at) values "
                f"('{path.name}', '{checksum(path)}', CURRENT_TIMESTAMP())",
            )
            done.append(path.name)
        return done

    def staging_columns(self, bq, settings: GcpSettings, tables) -> dict[str, dict | None]:
        """Table -> {column: GoogleSQL type} of each staging table, or None when it does not
        exist. From a dry run of `select *` (free on BigQuery): the query engine's view of
        the table. The emulator's table metadata misses columns added by ALTER TABLE; its
        dry run does not."""
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        found: dict[str, dict | None] = {}
        for table in tables:
            try:
                schema = bq.query(
                    f"select * from `{self._dataset(settings)}.{table.name}`",
                    job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False),
                    timeout=JOB_TIMEOUT_SECONDS,
                ).schema
            except NotFound:
                schema = None
            found[table.name] = (
                None
                if schema is None
                else {f.name: _STANDARD_TYPES.get(f.field_type, f.field_type) for f in schema}
            )
        return found

    def check_staging(self, bq, settings: GcpSettings, tables) -> None:
        """Raise StagingSchemaError when a staging table's columns differ from the lake
        registry (names and types, plus _lake_day and _loaded_at)."""
        check_staging_columns(
            self.dataset,
            tables,
            self.staging_columns(bq, settings, tables),
            BQ_TYPES,
            self.migrations,
            MIGRATION_PREFIX,
            lambda t, c, ty: f"alter table {t} add column if not exists {c} {ty};",
        )

    def _stage_to_gcs(
        self,
        s3,
        bucket: str,
        lake_prefix: str,
        gcs,
        settings: GcpSettings,
        table: LakeTable,
        day: date,
    ) -> list[str]:
        """Copy the day's Parquet objects S3 -> GCS, streaming; check each schema first."""
        import io

        import pyarrow.parquet as pq

        key = object_key(lake_prefix, table.name, day)
        day_prefix = key.rsplit("/", 1)[0] + "/"
        keys = sorted(
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=day_prefix
            )
            for o in page.get("Contents", [])
            if o["Key"].endswith(".parquet")
        )
        if not keys:
            raise FileNotFoundError(
                f"s3://{bucket}/{day_prefix}: no Parquet files for {day}; "
                "run the lake export for this day first"
            )
        expected = table.arrow_schema()
        target = gcs.bucket(settings.bucket)
        uris = []
        for k in keys:
            # The footer holds the schema: a ranged GET of the tail, not the whole object.
            size = s3.head_object(Bucket=bucket, Key=k)["ContentLength"]
            tail = s3.get_object(Bucket=bucket, Key=k, Range=f"bytes={max(0, size - 65536)}-")[
                "Body"
            ].read()
            schema = (
                _footer_schema(tail, size)
                if size > len(tail)
                else pq.ParquetFile(io.BytesIO(tail)).schema_arrow
            )
            if not schema.equals(expected):
                raise SchemaDriftError(
                    f"s3://{bucket}/{k}: schema {schema} differs from the registered schema "
                    f"{expected}; add the column to the registry (include/sources/<name>/lake.py) "
                    "deliberately"
                )
            blob = target.blob(gcs_key(settings.prefix, table.name, day, k.rsplit("/", 1)[1]))
            body = s3.get_object(Bucket=bucket, Key=k)["Body"]
            # Resumable upload streamed from the S3 body (no size: the emulator rejects
            # multipart uploads, and nothing is buffered whole).
            blob.upload_from_file(body, content_type="application/octet-stream", rewind=False)
            uris.append(f"gs://{settings.bucket}/{blob.name}")
        return uris

    def load_day(self, day: date, tables=TABLES) -> dict[str, int]:
        """Day D of every table, whole or not at all: each table's files go into a per-run
        table (one load job per table, explicit schema), and only when all of them loaded
        does ONE multi-statement transaction replace D in every staging table. A failure
        before that leaves staging as it was; the per-run tables are dropped either way."""
        from google.cloud import bigquery

        settings, bq, gcs = clients(self.conn_id)
        self.migrate((settings, bq, gcs))
        self.check_staging(bq, settings, tables)
        s3, bucket, lake_prefix = lake_location()
        run_tables: dict[str, tuple[str, str, LakeTable]] = {}
        try:
            for table in tables:
                ref = f"`{self._dataset(settings)}.{table.name}`"
                uris = self._stage_to_gcs(s3, bucket, lake_prefix, gcs, settings, table, day)
                run_table = f"{self._dataset(settings)}._load_{table.name}_{day:%Y%m%d}"
                run_tables[table.name] = (ref, run_table, table)
                job = bq.load_table_from_uri(
                    uris,
                    run_table,
                    job_id_prefix=f"{JOB_PREFIX}{table.name}_{day:%Y%m%d}_",
                    job_config=bigquery.LoadJobConfig(
                        source_format=bigquery.SourceFormat.PARQUET,
                        schema=_schema(table),
                        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
                    ),
                )
                self.load_jobs[table.name] = self.load_jobs.get(table.name, 0) + 1
                try:
                    job.result(timeout=JOB_TIMEOUT_SECONDS)
                except Exception as exc:
                    raise _job_failed(job, f"load of {table.name} for {day}") from exc
            statements = []
            for ref, run_table, table in run_tables.values():
                cols = ", ".join(f"`{c}`" for c, _ in table.columns)
                statements += [
                    f"DELETE FROM {ref} WHERE _lake_day = DATE '{day.isoformat()}';",
                    f"INSERT INTO {ref} ({cols}, _lake_day, _loaded_at) SELECT {cols}, "
                    f"DATE '{day.isoformat()}', CURRENT_TIMESTAMP() FROM `{run_table}`;",
                ]
            replace = bq.query(
                "BEGIN TRANSACTION;\n" + "\n".join(statements) + "\nCOMMIT TRANSACTION;"
            )
            try:
                replace.result(timeout=JOB_TIMEOUT_SECONDS)
            except Exception as exc:
                raise _job_failed(replace, f"replace of day {day}") from exc
            return {
                name: bq.get_table(run_table).num_rows
                for name, (_, run_table, _) in run_tables.items()
            }
        finally:
            for _, run_table, _ in run_tables.values():
                bq.delete_table(run_table, not_found_ok=True)

    def _row(self, template: str):
        """First row of a query; `{t}` in the template is replaced by the staging dataset."""
        settings, bq, _ = clients(self.conn_id)
        sql = template.format(t=f"`{self._dataset(settings)}`")
        return next(iter(bq.query(sql).result(timeout=JOB_TIMEOUT_SECONDS)))

    def staging_current_count(self, table: str, days: list[date] | None = None) -> int:
        keys = ", ".join(lake_table(table).key)
        where = ""
        if days is not None:
            listed = ", ".join(f"DATE '{d.isoformat()}'" for d in days)
            where = f" where _lake_day in ({listed})" if days else " where false"
        return int(
            self._row(f"select count(*) from (select distinct {keys} from {{t}}.{table}{where})")[0]
        )

    def staging_days(self, table: str) -> list[date]:
        settings, bq, _ = clients(self.conn_id)
        sql = f"select distinct _lake_day from `{self._dataset(settings)}.{table}` order by 1"
        return [r[0] for r in bq.query(sql).result(timeout=JOB_TIMEOUT_SECONDS)]

    def staging_day_stats(self, table: str, day: date, column: str | None = None):
        total = f"coalesce(sum({column}), 0)" if column else "null"
        row = self._row(
            f"select count(*), {total} from {{t}}.{table} "
            f"where _lake_day = DATE '{day.isoformat()}'"
        )
        return int(row[0]), None if row[1] is None else int(row[1])

    def staging_latest_sum(self, table: str, column: str) -> int:
        keys = ", ".join(lake_table(table).key)
        return int(
            self._row(
                f"select coalesce(sum({column}), 0) from (select {column}, row_number() over "
                f"(partition by {keys} order by updated_at desc, _lake_day desc) as rn from "
                f"{{t}}.{table}) where rn = 1"
            )[0]
        )


def _footer_schema(tail: bytes, size: int):
    """Arrow schema from the last bytes of a Parquet file (footer length + 'PAR1')."""
    import io
    import struct

    import pyarrow.parquet as pq

    if tail[-4:] != b"PAR1":
        raise SchemaDriftError("not a Parquet file (no PAR1 trailer)")
    footer_len = struct.unpack("<I", tail[-8:-4])[0]
    if footer_len + 8 > len(tail):
        raise SchemaDriftError(f"Parquet footer of {footer_len} bytes exceeds the 64 KiB read")
    # A minimal file: magic + footer + length + magic is enough for the metadata reader.
    footer = tail[-(footer_len + 8) :]
    return pq.read_metadata(io.BytesIO(b"PAR1" + footer)).schema.to_arrow_schema()
