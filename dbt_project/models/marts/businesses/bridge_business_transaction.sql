-- Current business x transaction type links, on the current version of each business.
with links as (
    select * from {{ ref('stg_yelp__business_transaction') }} where is_current
),

businesses as (
    select * from {{ ref('dim_business') }} where is_current
),

types as (
    select * from {{ ref('dim_transaction_type') }}
)

select
    businesses.business_key,
    types.transaction_type_key
from links
inner join businesses on links.business_id = businesses.business_id
inner join types on links.transaction_type = types.transaction_type
