-- Yelp transaction types (delivery, pickup, restaurant_reservation, ...).
select
    {{ surrogate_key(['transaction_type']) }} as transaction_type_key,
    transaction_type
from {{ ref('stg_yelp__transaction_type') }}
