select distinct on (user_id)
    user_id,
    user_name,
    user_profile_url,
    user_image_url
from raw.yelp_review
where logical_date = %(d)s
order by user_id asc, time_created desc
