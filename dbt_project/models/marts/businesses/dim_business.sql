-- Businesses, SCD2: one row per version of the descriptive attributes (name, address,
-- price level, place). valid_from/valid_to are the business days of the changes; the
-- first version is valid from 1900-01-01, so a holding of a day backfilled before the
-- business was first loaded still finds it. The daily measures (rating, review_count,
-- is_closed) are in fct_business_holding.
with business_snapshot as (
    select * from {{ ref('snap_business') }}
),

cities as (
    select * from {{ ref('dim_city') }}
),

counties as (
    select * from {{ ref('dim_county') }}
),

versions as (
    select
        *,
        row_number() over (partition by business_id order by dbt_valid_from) as version_number
    from business_snapshot
),

final as (
    select
        {{ surrogate_key(['versions.business_id', 'versions.dbt_valid_from']) }} as business_key,
        versions.business_id,
        versions.business_name,
        versions.alias,
        versions.address1,
        versions.zip_code,
        versions.phone,
        versions.url,
        versions.price_level,
        versions.latitude,
        versions.longitude,
        cities.city_key,
        counties.county_key,
        case
            when versions.version_number = 1 then cast('1900-01-01' as date)
            else cast(versions.dbt_valid_from as date)
        end as valid_from,
        cast(versions.dbt_valid_to as date) as valid_to,
        versions.dbt_valid_to is null as is_current
    from versions
    left join cities
        on
            versions.state_code = cities.state_code
            and versions.city_name = cities.city_name
    left join counties on versions.county_fips = counties.county_fips
)

select * from final
