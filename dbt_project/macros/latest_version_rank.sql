{#
    The rank of a staged row among the versions of its key across the loaded lake days
    (staging keeps every lake day's rows): 1 is the latest version, by the source's
    updated_at, then the later lake day. A staging model keeps the rows ranked 1 and does
    not select the rank itself.
#}
{% macro latest_version_rank(keys) -%}
    row_number() over (
        partition by {{ keys | join(', ') }}
        order by updated_at desc, _lake_day desc
    )
{%- endmacro %}
