select
    business_id,
    %(d)s::date,
    rating,
    review_count,
    is_closed
from yelp_placed
