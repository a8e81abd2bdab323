-- Yelp transaction types (delivery, pickup, restaurant_reservation, ...).
with transaction_types as (
    select * from {{ ref('stg_yelp__transaction_type') }}
),

final as (
    select
        {{ surrogate_key(['transaction_type']) }} as transaction_type_key,
        transaction_type
    from transaction_types
)

select * from final
