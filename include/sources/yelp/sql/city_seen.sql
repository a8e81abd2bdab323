-- Day D's cities were seen on D: seen_on moves forward only (updated_at stays).
update oltp.city as c set seen_on = %(d)s
from (
    select distinct
        state_code,
        city
    from yelp_placed
    where city is not null
) as p
where c.state_code = p.state_code and c.city_name = p.city and c.seen_on < %(d)s
