-- One row per Yelp review, on the current version of its business.
with reviews as (
    select * from {{ ref('stg_yelp__review') }}
),

businesses as (
    select * from {{ ref('dim_business') }}
    where is_current
),

users as (
    select * from {{ ref('dim_user') }}
),

final as (
    select
        reviews.review_id,
        businesses.business_key,
        users.user_key,
        reviews.rating,
        cast(reviews.created_at as date) as review_date,
        reviews.created_at,
        reviews.text_excerpt
    from reviews
    left join businesses on reviews.business_id = businesses.business_id
    left join users on reviews.user_id = users.user_id
)

select * from final
