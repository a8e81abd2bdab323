-- States and territories (page) with their Census FIPS, matched on the normalized name.
with page_states as (
    select * from {{ ref('snap_state') }}
    where dbt_valid_to is null
),

census_states as (
    select * from {{ ref('stg_census__census_state') }}
),

final as (
    select
        {{ surrogate_key(['page_states.state_code']) }} as state_key,
        census_states.state_fips,
        page_states.state_code,
        page_states.state_name,
        page_states.is_state
    from page_states
    left join census_states
        on lower(trim(page_states.state_name)) = lower(trim(census_states.state_name))
)

select * from final
