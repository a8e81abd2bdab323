-- Current business x category links, on the current version of each business.
with links as (
    select * from {{ ref('stg_yelp__business_category') }}
    where is_current
),

businesses as (
    select * from {{ ref('dim_business') }}
    where is_current
),

categories as (
    select * from {{ ref('dim_category') }}
),

final as (
    select
        businesses.business_key,
        categories.category_key
    from links
    inner join businesses on links.business_id = businesses.business_id
    inner join categories on links.category_alias = categories.category_alias
)

select * from final
