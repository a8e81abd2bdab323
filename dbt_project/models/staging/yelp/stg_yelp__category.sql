-- Latest version of each category across the loaded lake days.
with source as (
    select * from {{ source('yelp', 'category') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['category_alias']) }} as version_rank
    from source
),

final as (
    select
        category_alias,
        title,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
