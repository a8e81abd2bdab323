-- Business x day: rating, review_count, is_closed, joined to the dim_business version
-- valid on holding_date. Incremental merge on (business_id, holding_date); on BigQuery
-- partitioned by holding_date and clustered by business_key (BigQuery configs, which
-- dbt-postgres ignores).
{{ config(
    materialized='incremental',
    unique_key=['business_id', 'holding_date'],
    partition_by={'field': 'holding_date', 'data_type': 'date', 'granularity': 'day'},
    cluster_by=['business_key'],
) }}

with holdings as (
    select * from {{ ref('stg_yelp__business_holding') }}
    {{ newer_than_last_build('updated_at') }}
),

versions as (
    select * from {{ ref('dim_business') }}
),

final as (
    select
        versions.business_key,
        holdings.business_id,
        holdings.holding_date,
        holdings.rating,
        holdings.review_count,
        holdings.is_closed,
        holdings.updated_at
    from holdings
    -- left join: a holding without a version valid that day fails the not_null test
    left join versions
        on
            holdings.business_id = versions.business_id
            and holdings.holding_date >= versions.valid_from
            and (versions.valid_to is null or holdings.holding_date < versions.valid_to)
)

select * from final
