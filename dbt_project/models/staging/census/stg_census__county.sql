-- Latest version of each county FIPS across the loaded lake days.
with source as (
    select * from {{ source('census', 'county') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['county_fips']) }} as version_rank
    from source
),

final as (
    select
        county_fips,
        state_fips,
        county_name,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
