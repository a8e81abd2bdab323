-- Yelp cities, snowflaked to dim_county (and through it to dim_state).
with cities as (
    select * from {{ ref('stg_yelp__city') }}
),

counties as (
    select * from {{ ref('dim_county') }}
),

states as (
    select * from {{ ref('dim_state') }}
),

final as (
    select
        {{ surrogate_key(['cities.state_code', 'cities.city_name']) }} as city_key,
        cities.city_name,
        cities.state_code,
        counties.county_key,
        states.state_key
    from cities
    left join counties on cities.county_fips = counties.county_fips
    left join states on cities.state_code = states.state_code
)

select * from final
