-- Latest version of each Yelp user across the loaded lake days.
with source as (
    select * from {{ source('yelp', 'yelp_user') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['user_id']) }} as version_rank
    from source
),

final as (
    select
        user_id,
        user_name,
        profile_url,
        image_url,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
