select distinct on (r.review_id)
    r.review_id,
    r.business_id,
    r.user_id,
    r.rating,
    r.time_created,
    left(r.text, 160) as text_excerpt
from raw.yelp_review as r
inner join oltp.business as b on r.business_id = b.business_id
where r.logical_date = %(d)s
order by r.review_id
