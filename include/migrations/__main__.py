from include.migrations import migrate

applied = migrate()
print(f"source_db migrations applied: {applied or 'none pending'}")
