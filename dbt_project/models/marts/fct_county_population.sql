-- County x year population (July 1 estimates).
with population as (
    select * from {{ ref('stg_census__county_population') }}
),

counties as (
    select * from {{ ref('dim_county') }}
),

final as (
    select
        counties.county_key,
        population.population_year,
        population.population
    from population
    -- left join: a fact without its county fails the not_null test instead of vanishing
    left join counties on population.county_fips = counties.county_fips
)

select * from final
