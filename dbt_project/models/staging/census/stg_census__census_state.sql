-- Latest version of each state_fips across the loaded lake days.
with source as (
    select * from {{ source('lake', 'census_state') }}
),

ranked as (
    select
        *,
        row_number() over (partition by state_fips order by updated_at desc, _lake_day desc) as version_rank
    from source
),

final as (
    select * from ranked where version_rank = 1
)

select * from final
