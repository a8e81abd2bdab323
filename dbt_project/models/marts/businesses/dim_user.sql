-- Yelp users (current attributes; history in snapshots.snap_yelp_user).
with users as (
    select * from {{ ref('snap_yelp_user') }}
    where dbt_valid_to is null
),

final as (
    select
        {{ surrogate_key(['user_id']) }} as user_key,
        user_id,
        user_name,
        profile_url
    from users
)

select * from final
