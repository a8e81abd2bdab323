-- Latest version of each business across the loaded lake days, with the business day of its
-- last described change as a timestamp (what the SCD2 snapshot versions on).
with latest as (
    {{ latest_version(source('yelp', 'business'), ['business_id']) }}
)

select
    *,
    cast(changed_on as {{ dbt.type_timestamp() }}) as changed_at
from latest
