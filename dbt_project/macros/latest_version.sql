{# The latest version of each key across the loaded lake days (staging keeps every day's rows). #}
{% macro latest_version(relation, keys) -%}
with source as (
    select * from {{ relation }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by {{ keys | join(', ') }}
            order by updated_at desc, _lake_day desc
        ) as version_rank
    from source
),

final as (
    select * from ranked where version_rank = 1
)

select * from final
{%- endmacro %}
