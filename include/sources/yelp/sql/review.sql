-- Day D's reviews of known businesses; seen_on = D (an older day never rolls back a
-- review a newer day wrote).
select distinct on (r.review_id)
    r.review_id,
    r.business_id,
    r.user_id,
    r.rating,
    r.time_created,
    %(d)s::date as seen_on,
    left(r.text, 160) as text_excerpt
from raw.yelp_review as r
inner join oltp.business as b on r.business_id = b.business_id
where r.logical_date = %(d)s
order by r.review_id
