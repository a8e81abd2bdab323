-- Yelp categories.
select
    {{ surrogate_key(['category_alias']) }} as category_key,
    category_alias,
    title
from {{ ref('stg_yelp__category') }}
