-- Yelp users (current attributes; history in snapshots.snap_yelp_user).
select
    {{ surrogate_key(['user_id']) }} as user_key,
    user_id,
    user_name,
    profile_url
from {{ ref('snap_yelp_user') }}
where dbt_valid_to is null
