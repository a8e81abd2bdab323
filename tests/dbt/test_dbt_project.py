"""The dbt project's documentation and key tests, checked against what dbt parses and, for
columns, against what a build really creates in the warehouse (information_schema), never
against lists kept in this file:

- every model and snapshot has a description;
- every column of every built model and snapshot is documented with a description, and no
  documented column is missing from the built relation;
- every staging model's key is tested unique + not_null: one column with both tests, or a
  `dbt_unique_combination` test over columns that each have `not_null`;
- sqlfluff (repo-root .sqlfluff) lints every model file cleanly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    """The manifest of the project as it is now (dbt parse into a scratch target path, so
    the manifest cosmos reads is left alone)."""
    from dbt.cli.main import dbtRunner

    target = tmp_path_factory.mktemp("dbt-target")
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(target),
            "--quiet",
        ]
    )
    assert result.success, result.exception
    return json.loads((target / "manifest.json").read_text())


def _nodes(manifest: dict, *types: str) -> list[dict]:
    return [
        n
        for n in manifest["nodes"].values()
        if n["package_name"] == "elt" and n["resource_type"] in types
    ]


def _tests_by_model(manifest: dict) -> dict[str, list[dict]]:
    tests = defaultdict(list)
    for t in _nodes(manifest, "test"):
        if t.get("attached_node") and t.get("test_metadata"):
            tests[t["attached_node"]].append(t)
    return tests


def test_every_model_and_snapshot_has_a_description(manifest):
    nodes = _nodes(manifest, "model", "snapshot")
    assert nodes
    missing = sorted(n["unique_id"] for n in nodes if not n["description"].strip())
    assert missing == [], f"no description: {missing}"


def test_every_documented_column_has_a_description(manifest):
    missing = sorted(
        f"{n['name']}.{c}"
        for n in _nodes(manifest, "model", "snapshot")
        for c, col in n["columns"].items()
        if not col["description"].strip()
    )
    assert missing == [], f"columns listed without a description: {missing}"


def test_every_staging_model_key_is_tested_unique_and_not_null(manifest):
    tests = _tests_by_model(manifest)
    staging = [n for n in _nodes(manifest, "model") if n["name"].startswith("stg_")]
    assert staging
    untested = []
    for model in staging:
        by_column = defaultdict(set)
        combinations = []
        for t in tests[model["unique_id"]]:
            name = t["test_metadata"]["name"]
            if name == "dbt_unique_combination":
                combinations.append(t["test_metadata"]["kwargs"]["columns"])
            elif t.get("column_name"):
                by_column[t["column_name"]].add(name)
        single = [c for c, kinds in by_column.items() if {"unique", "not_null"} <= kinds]
        composite = [
            cols
            for cols in combinations
            if all("not_null" in by_column.get(c, set()) for c in cols)
        ]
        if not single and not composite:
            untested.append(model["name"])
    assert untested == [], f"staging models whose key is not tested unique + not_null: {untested}"


@pytest.mark.integration
def test_every_column_of_every_built_relation_is_documented(manifest):
    """Builds the project's models and snapshots on the warehouse (PostgreSQL target), then
    compares information_schema's columns with the manifest's documented columns."""
    from include.connections import pg_connect
    from include.dbt.runner import run_dbt
    from include.warehouse.postgres import PostgresWarehouse

    # On a fresh stack no load has run yet: the staging migrations create the (empty)
    # staging tables the sources read, so the build has its inputs.
    PostgresWarehouse().migrate()
    run_dbt(["build", "--exclude", "resource_type:test", "--quiet"])
    nodes = _nodes(manifest, "model", "snapshot")
    with pg_connect("warehouse_db") as conn:
        rows = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema = any(%s)",
            (sorted({n["schema"] for n in nodes}),),
        ).fetchall()
    built = defaultdict(set)
    for schema, table, column in rows:
        built[(schema, table)].add(column.lower())
    undocumented, stale, absent = [], [], []
    for n in nodes:
        relation = (n["schema"], n["alias"] or n["name"])
        if relation not in built:
            absent.append(".".join(relation))
            continue
        documented = {c.lower() for c, col in n["columns"].items() if col["description"].strip()}
        undocumented += [f"{'.'.join(relation)}.{c}" for c in sorted(built[relation] - documented)]
        stale += [
            f"{'.'.join(relation)}.{c}"
            for c in sorted(set(map(str.lower, n["columns"])) - built[relation])
        ]
    assert absent == [], f"not built: {absent}"
    # A snapshot keeps a column its source dropped (dbt never drops snapshot columns): an
    # old warehouse can show one here; drop it from the snapshot table or rebuild.
    assert undocumented == [], f"built columns without a description: {undocumented}"
    assert stale == [], f"documented columns the built relation does not have: {stale}"


def test_sqlfluff_lints_every_model_cleanly(manifest):
    """The repo-root .sqlfluff (jinja templater: offline, no database) passes on every model
    file of the project."""
    import subprocess
    import sys
    from importlib.util import find_spec

    assert find_spec("sqlfluff"), "sqlfluff is not installed (the requirements pin it)"
    out = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "dbt_project", "--format", "json"],
        cwd=PROJECT_DIR.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    files = json.loads(out.stdout)
    problems = [
        f"{f['filepath']}:{v.get('start_line_no')} {v['code']} {v['description']}"
        for f in files
        for v in f["violations"]
    ]
    assert problems == [] and out.returncode == 0, "\n".join(problems) or out.stderr
    linted = {Path(f["filepath"]).as_posix() for f in files}
    models = {f"dbt_project/{n['original_file_path']}" for n in _nodes(manifest, "model")}
    assert models <= linted, sorted(models - linted)
