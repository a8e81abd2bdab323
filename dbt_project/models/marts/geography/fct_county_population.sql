-- County x year population (July 1 estimates). Incremental merge on (county_key,
-- population_year): a run only touches the rows whose staging version is newer than the
-- fact's. On BigQuery the table is integer-range partitioned by year and clustered by
-- county (BigQuery configs, which dbt-postgres ignores).
{{ config(
    materialized='incremental',
    unique_key=['county_key', 'population_year'],
    partition_by={'field': 'population_year', 'data_type': 'int64',
                  'range': {'start': 1990, 'end': 2100, 'interval': 1}},
    cluster_by=['county_key'],
) }}

with population as (
    select * from {{ ref('stg_census__county_population') }}
    {{ newer_than_last_build('updated_at') }}
),

counties as (
    select * from {{ ref('dim_county') }}
),

final as (
    select
        counties.county_key,
        population.population_year,
        population.population,
        population.updated_at
    from population
    -- left join: a fact without its county fails the not_null test instead of vanishing
    left join counties on population.county_fips = counties.county_fips
)

select * from final
