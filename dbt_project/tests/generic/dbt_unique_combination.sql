{# Rows whose combination of columns is not unique (no dbt_utils: dbt deps needs the hub). #}
{% test dbt_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
