-- Day D's businesses whose present D describes (D is their latest day): only their bridge
-- links are refreshed. An older day's links are history the bridges do not keep.
create temp table yelp_current on commit drop as
select p.business_id
from yelp_placed as p
inner join oltp.business as b on p.business_id = b.business_id
where b.seen_on = %(d)s
