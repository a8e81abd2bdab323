-- Current business x transaction type links, on the current version of each business.
with links as (
    select * from {{ ref('stg_yelp__business_transaction') }}
    where is_current
),

businesses as (
    select * from {{ ref('dim_business') }}
    where is_current
),

transaction_types as (
    select * from {{ ref('dim_transaction_type') }}
),

final as (
    select
        businesses.business_key,
        transaction_types.transaction_type_key
    from links
    inner join businesses on links.business_id = businesses.business_id
    inner join transaction_types on links.transaction_type = transaction_types.transaction_type
)

select * from final
