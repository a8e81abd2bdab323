-- County x year population (July 1 estimates). Incremental merge on (county_key,
-- population_year): a run only touches the rows whose staging version is newer than the
-- fact's. On BigQuery the table is integer-range partitioned by year and clustered by county.
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['county_key', 'population_year'],
    on_schema_change='fail',
    partition_by=({'field': 'population_year', 'data_type': 'int64',
                   'range': {'start': 1990, 'end': 2100, 'interval': 1}}
                  if target.type == 'bigquery' else none),
    cluster_by=(['county_key'] if target.type == 'bigquery' else none),
) }}

with population as (
    select * from {{ ref('stg_census__county_population') }}
    {% if is_incremental() %}
    where updated_at > (select coalesce(max(updated_at), {{ dbt.cast("'1900-01-01'", api.Column.translate_type('timestamp')) }}) from {{ this }})
    {% endif %}
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
