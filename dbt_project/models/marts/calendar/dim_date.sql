-- Calendar 2010-01-01 .. 2037-05-18 (10,000 days) from a portable digit cross join.
with digits as (
    {%- for digit in range(10) %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select {{ digit }} as digit
    {%- endfor %}
),

day_offsets as (
    select
        ones.digit
        + 10 * tens.digit
        + 100 * hundreds.digit
        + 1000 * thousands.digit as day_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
),

days as (
    select
        cast(
            {{ dbt.dateadd('day', 'day_offset', "cast('2010-01-01' as date)") }} as date
        ) as date_day
    from day_offsets
),

final as (
    select
        date_day,
        {{ dbt.date_trunc('month', 'date_day') }} as month_start_date,
        extract(year from date_day) as calendar_year
    from days
)

select * from final
