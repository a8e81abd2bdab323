"""Offline stand-ins for what dbt puts into a model's Jinja context, for sqlfluff's jinja
templater (repo-root .sqlfluff: library_path). Each submodule becomes a name in the
template context: `dbt` (the cross-database macros this project calls), `target` and
`adapter`. They render PostgreSQL SQL, the dialect the linter parses; they are not used
by dbt itself.

ref, source, config, var, this and is_incremental come from sqlfluff's dbt builtins
(apply_dbt_builtins); the project's own macros are loaded from dbt_project/macros.
"""
