-- Latest version of each business x holding day across the loaded lake days.
with source as (
    select * from {{ source('yelp', 'business_holding') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['business_id', 'holding_date']) }} as version_rank
    from source
),

final as (
    select
        business_id,
        holding_date,
        rating,
        review_count,
        is_closed,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
