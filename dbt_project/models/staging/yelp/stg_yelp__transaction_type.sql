-- Latest version of each transaction type across the loaded lake days.
with source as (
    select * from {{ source('yelp', 'transaction_type') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['transaction_type']) }} as version_rank
    from source
),

final as (
    select
        transaction_type,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
