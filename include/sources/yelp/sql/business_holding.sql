select
    business_id,
    %(d)s::date as holding_date,
    rating,
    review_count,
    is_closed
from yelp_placed
