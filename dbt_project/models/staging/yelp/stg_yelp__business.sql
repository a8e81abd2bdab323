-- Latest version of each business across the loaded lake days, with the business day of its
-- last described change as a timestamp (what the SCD2 snapshot versions on).
with source as (
    select * from {{ source('yelp', 'business') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['business_id']) }} as version_rank
    from source
),

final as (
    select
        business_id,
        alias,
        business_name,
        address1,
        address2,
        address3,
        zip_code,
        phone,
        url,
        price_level,
        latitude,
        longitude,
        state_code,
        city_name,
        county_fips,
        changed_on,
        updated_at,
        _lake_day,
        _loaded_at,
        cast(changed_on as {{ dbt.type_timestamp() }}) as changed_at
    from ranked
    where version_rank = 1
)

select * from final
