"""`target`: the PostgreSQL target (BigQuery-only branches are not linted)."""

name = "postgres"
type = "postgres"  # noqa: A001 - dbt's attribute name
schema = "analytics"
database = "warehouse"
