-- Latest version of each postal code across the loaded lake days.
with source as (
    select * from {{ source('states_page', 'state') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['state_code']) }} as version_rank
    from source
),

final as (
    select
        state_code,
        state_name,
        is_state,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
