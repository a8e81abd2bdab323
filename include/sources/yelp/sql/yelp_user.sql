-- Day D's review authors, each as its latest review of D shows it; seen_on = D (an older
-- day never rolls back a user a newer day wrote).
select distinct on (user_id)
    user_id,
    user_name,
    user_profile_url,
    user_image_url,
    %(d)s::date as seen_on
from raw.yelp_review
where logical_date = %(d)s
order by user_id asc, time_created desc
