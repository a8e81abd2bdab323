-- Latest version of each (county, year) across the loaded lake days.
with latest as (
    {{ latest_version(source('census', 'county_population'), ['county_fips', 'population_year']) }}
),

final as (
    select county_fips, population_year, population, updated_at
    from latest
)

select * from final
