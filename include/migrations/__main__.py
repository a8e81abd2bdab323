"""python -m include.migrations: the source database's migrations, then the warehouse
target's staging migrations (WAREHOUSE, default postgres: `warehouse_db`). The BigQuery
staging migrations are applied by the BigQuery load itself when pending, so that setting
up the stack does not need BigQuery (or its emulator) to be reachable yet."""

from include.lake import target_name
from include.migrations import SOURCE, migrate_set


def main() -> None:
    applied = migrate_set(SOURCE)
    print(f"source_db migrations applied: {applied or 'none pending'}")
    target = target_name()
    if target == "postgres":
        from include.warehouse.postgres import STAGING_MIGRATIONS

        applied = migrate_set(STAGING_MIGRATIONS)
        print(f"warehouse_db staging migrations applied: {applied or 'none pending'}")
    elif target == "bigquery":
        print("BigQuery staging migrations: applied by the warehouse load when pending")
    else:
        raise SystemExit(f"WAREHOUSE={target!r}: expected 'postgres' or 'bigquery'")


main()
