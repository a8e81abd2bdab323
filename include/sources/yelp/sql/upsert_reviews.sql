-- The staged reviews into raw.yelp_review (a refetch updates them).
insert into raw.yelp_review (
    logical_date, business_id, review_id, user_id, user_name, user_profile_url,
    user_image_url, rating, text, time_created
)
select
    logical_date,
    business_id,
    review_id,
    user_id,
    user_name,
    user_profile_url,
    user_image_url,
    rating,
    text,
    time_created
from yelp_review_in
on conflict (logical_date, business_id, review_id) do update set
    user_id = excluded.user_id,
    user_name = excluded.user_name,
    user_profile_url = excluded.user_profile_url,
    user_image_url = excluded.user_image_url,
    rating = excluded.rating,
    text = excluded.text,
    time_created = excluded.time_created,
    loaded_at = now()
