-- Latest version of each state FIPS across the loaded lake days.
with source as (
    select * from {{ source('census', 'census_state') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['state_fips']) }} as version_rank
    from source
),

final as (
    select
        state_fips,
        state_name,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
