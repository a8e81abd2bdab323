-- Current counties, snowflaked to dim_state through the state FIPS.
with counties as (
    select * from {{ ref('snap_county') }}
    where dbt_valid_to is null
),

states as (
    select * from {{ ref('dim_state') }}
),

final as (
    select
        {{ surrogate_key(['counties.county_fips']) }} as county_key,
        counties.county_fips,
        counties.county_name,
        states.state_key
    from counties
    left join states on counties.state_fips = states.state_fips
)

select * from final
