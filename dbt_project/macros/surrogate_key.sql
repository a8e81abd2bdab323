{# Portable surrogate key: md5 of the '|'-joined natural key columns (cross-database macros). #}
{% macro surrogate_key(columns) -%}
  {%- set parts = [] -%}
  {%- for c in columns -%}
    {%- do parts.append("coalesce(" ~ dbt.cast(c, dbt.type_string()) ~ ", '')") -%}
    {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
  {%- endfor -%}
  {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
