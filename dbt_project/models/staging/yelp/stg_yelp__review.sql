-- Latest version of each review across the loaded lake days.
with source as (
    select * from {{ source('yelp', 'review') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['review_id']) }} as version_rank
    from source
),

final as (
    select
        review_id,
        business_id,
        user_id,
        rating,
        text_excerpt,
        created_at,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
