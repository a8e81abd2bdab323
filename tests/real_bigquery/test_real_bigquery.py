"""What no BigQuery emulator checks, against a real project. Deselected by default
(`-m "not real_bigquery"` in pyproject); run them with

    export WAREHOUSE=bigquery ELT_REAL_BIGQUERY=1
    export AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT='{"conn_type": "google_cloud_platform",
        "extra": {"project": "<project>", "location": "US",
                  "staging_uri": "gs://<bucket>/elt-test", "key_path": "/path/sa.json"}}'
    export AIRFLOW_CONN_LAKE_S3='...'   # the S3 lake holding the day's Parquet files
    .venv/bin/python -m pytest -m real_bigquery tests/real_bigquery

after a run of the pipeline for DAY (`make run DATE=2024-01-15`). Without those variables
the tests fail with the reason (they never skip silently).
"""

import os
from datetime import date

import pytest

pytestmark = pytest.mark.real_bigquery
DAY = date(2024, 1, 15)


@pytest.fixture(scope="module")
def real():
    if os.environ.get("ELT_REAL_BIGQUERY") != "1" or os.environ.get("BIGQUERY_EMULATOR_HOST"):
        pytest.fail(
            "set ELT_REAL_BIGQUERY=1, unset BIGQUERY_EMULATOR_HOST and point "
            "google_cloud_default at a real project (see the module docstring)"
        )
    from include.warehouse.bigquery import clients

    return clients()


def test_staging_is_partitioned_by_lake_day_and_clustered_on_keys(real):
    from include.lake import TABLES
    from include.warehouse.bigquery import BigQueryWarehouse

    settings, bq, _ = real
    BigQueryWarehouse().load_day(DAY)
    for table in TABLES:
        t = bq.get_table(f"{settings.project}.staging.{table.name}")
        assert t.time_partitioning and t.time_partitioning.field == "_lake_day", table.name
        assert t.clustering_fields == list(table.key), table.name


def test_fact_is_range_partitioned_by_year_and_clustered_by_county(real):
    settings, bq, _ = real
    t = bq.get_table(f"{settings.project}.marts.fct_county_population")
    assert t.range_partitioning and t.range_partitioning.field == "population_year"
    assert t.clustering_fields == ["county_key"]


def test_a_failed_load_job_names_the_job_and_its_errors(real, monkeypatch):
    import uuid

    from include.warehouse.bigquery import BigQueryWarehouse, WarehouseLoadError

    settings, _bq, _ = real
    missing = f"gs://{settings.bucket}/{settings.prefix}/missing-{uuid.uuid4()}.parquet"
    monkeypatch.setattr(BigQueryWarehouse, "_stage_to_gcs", lambda self, *a, **k: [missing])
    with pytest.raises(WarehouseLoadError) as err:
        BigQueryWarehouse().load_day(DAY)
    assert f"elt_load_state_{DAY:%Y%m%d}_" in str(err.value)
    assert "Not found" in str(err.value) or "not found" in str(err.value)
