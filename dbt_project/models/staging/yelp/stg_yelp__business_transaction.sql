-- Latest version of each business x transaction type link across the loaded lake days.
with source as (
    select * from {{ source('yelp', 'business_transaction') }}
),

ranked as (
    select
        *,
        {{ latest_version_rank(['business_id', 'transaction_type']) }} as version_rank
    from source
),

final as (
    select
        business_id,
        transaction_type,
        is_current,
        updated_at,
        _lake_day,
        _loaded_at
    from ranked
    where version_rank = 1
)

select * from final
