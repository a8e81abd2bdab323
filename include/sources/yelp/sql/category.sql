-- Day D's categories; seen_on = D (include/landing upsert: an older day never rolls back
-- a title a newer day wrote).
select distinct on (c ->> 0)
    %(d)s::date as seen_on,
    c ->> 0 as category_alias,
    c ->> 1 as title
from yelp.ready_search as s, jsonb_array_elements(s.categories) as c
where s.logical_date = %(d)s
order by c ->> 0, c ->> 1
