-- Day D's businesses were seen on D: seen_on moves forward only (a value change was written
-- by business.sql; updated_at stays, as nothing described changed).
update oltp.business as b set seen_on = %(d)s
from yelp_placed as p
where b.business_id = p.business_id and b.seen_on < %(d)s
