{#
    The filter of an incremental model's new rows: in an incremental run, `where <column>`
    is later than the latest <column> already in the model ({{ this }}); on a first or
    full-refresh build nothing (every row).
#}
{% macro newer_than_last_build(column) -%}
    {%- if is_incremental() %}
    where {{ column }} > (
        select coalesce(max({{ column }}), {{ dbt.cast("'1900-01-01'", dbt.type_timestamp()) }})
        from {{ this }}
    )
    {%- endif %}
{%- endmacro %}
