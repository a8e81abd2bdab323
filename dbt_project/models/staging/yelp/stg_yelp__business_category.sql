-- Latest version of each business x category link across the loaded lake days.
with source as (
    select * from {{ source('yelp', 'business_category') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['business_id', 'category_alias']) }} as version_rank
    from source
),

final as (
    select
        business_id,
        category_alias,
        is_current,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
