"""dbt: the project's location, the runner (`include.dbt.runner`: CLI, profile variables,
test results -> quality.check_results) and the cosmos task group (`include.dbt.cosmos`)."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
MANIFEST = PROJECT_DIR / "target" / "manifest.json"
