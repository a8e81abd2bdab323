-- Yelp categories.
with categories as (
    select * from {{ ref('stg_yelp__category') }}
),

final as (
    select
        {{ surrogate_key(['category_alias']) }} as category_key,
        category_alias,
        title
    from categories
)

select * from final
