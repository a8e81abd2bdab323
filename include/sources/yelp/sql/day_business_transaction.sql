-- Day D's business-transaction links (after moves); see day_business_category.sql.
create temp table yelp_day_link on commit drop as
select distinct
    s.final_business_id as business_id,
    t as link
from yelp.ready_search as s, jsonb_array_elements_text(s.transactions) as t
where
    s.logical_date = %(d)s
    and s.final_business_id in (select cur.business_id from yelp_current as cur)
