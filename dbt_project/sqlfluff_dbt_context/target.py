"""`target`: the PostgreSQL target (BigQuery-only branches are not linted)."""

name = "postgres"
type = "postgres"
schema = "analytics"
database = "warehouse"
