-- Latest version of each (county, year) across the loaded lake days.
with source as (
    select * from {{ source('census', 'county_population') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['county_fips', 'population_year']) }} as version_rank
    from source
),

final as (
    select
        county_fips,
        population_year,
        population,
        updated_at
    from ranked
    where version_rank = 1
)

select * from final
