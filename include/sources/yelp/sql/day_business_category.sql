-- Day D's business-category links (after moves) of the businesses whose present D describes
-- (current_business.sql), into a temp table the bridge upsert and the "no longer current"
-- update both read.
create temp table yelp_day_link on commit drop as
select distinct
    s.final_business_id as business_id,
    c ->> 0 as link
from yelp.ready_search as s, jsonb_array_elements(s.categories) as c
where
    s.logical_date = %(d)s
    and s.final_business_id in (select cur.business_id from yelp_current as cur)
