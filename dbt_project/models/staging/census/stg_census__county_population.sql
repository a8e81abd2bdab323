-- Latest version of each (county, year) across the loaded lake days.
with source as (
    select * from {{ source('lake', 'county_population') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by county_fips, population_year
            order by updated_at desc, _lake_day desc
        ) as version_rank
    from source
),

final as (
    select county_fips, population_year, population, updated_at
    from ranked
    where version_rank = 1
)

select * from final
