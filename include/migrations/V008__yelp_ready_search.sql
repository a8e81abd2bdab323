-- The day's search rows of businesses whose reviews are fetched: only then is a business's
-- final id known (a 301 moves it), so a quota stop never normalizes a business under an id
-- it is about to lose. The rest waits, landed, for the resumed run. final_business_id is
-- the id after any move.
create view yelp.ready_search as
select
    r.logical_date,
    r.county_fips,
    r.business_id,
    r.search_offset,
    r.alias,
    r.name,
    r.is_closed,
    r.url,
    r.phone,
    r.review_count,
    r.rating,
    r.price,
    r.latitude,
    r.longitude,
    r.address1,
    r.address2,
    r.address3,
    r.city,
    r.zip_code,
    r.country,
    r.state,
    r.categories,
    r.transactions,
    r.loaded_at,
    coalesce(m.new_business_id, r.business_id) as final_business_id
from raw.yelp_search as r
inner join yelp.progress as q
    on
        r.logical_date = q.logical_date
        and r.business_id = q.item_key
        and q.item_type = 'reviews'
        and q.status = 'done'
left join raw.yelp_business_move as m on r.business_id = m.old_business_id;
