{# The UTC calendar day of a timestamp (with time zone), whatever the session time zone. #}
{% macro utc_date(column) -%}
  {{ return(adapter.dispatch('utc_date')(column)) }}
{%- endmacro %}

{% macro default__utc_date(column) -%}
  cast(({{ column }} at time zone 'UTC') as date)
{%- endmacro %}

{% macro bigquery__utc_date(column) -%}
  date({{ column }}, 'UTC')
{%- endmacro %}
