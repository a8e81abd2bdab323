-- Latest version of each city (state code + name) across the loaded lake days.
with source as (
    select * from {{ source('yelp', 'city') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['state_code', 'city_name']) }} as version_rank
    from source
),

final as (
    select
        state_code,
        city_name,
        county_fips,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
