# Production image: the official Airflow image of the same version, plus this bundle's
# pinned dependencies (requirements.txt, compiled by `make lock`; the Celery provider for
# the CeleryExecutor included). Nothing of the laptop stack: .dockerignore keeps local/,
# tests/, .local/, benchmarks/ and .env out of the build context.
FROM apache/airflow:3.3.2-python3.11

USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/*
USER airflow

COPY --chown=airflow:root requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt

COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root include/ /opt/airflow/include/
COPY --chown=airflow:root dbt_project/ /opt/airflow/dbt_project/
# The compose bootstrap (airflow-init: python -m deploy.init) and its SQL.
COPY --chown=airflow:root deploy/ /opt/airflow/deploy/
ENV PYTHONPATH=/opt/airflow
# The dbt manifest cosmos renders the dbt tasks from (LoadMode.DBT_MANIFEST): built once
# here, so no DAG parse ever runs dbt. `dbt parse` needs no warehouse connection.
RUN cd /opt/airflow && python -m include.dbt.runner parse
