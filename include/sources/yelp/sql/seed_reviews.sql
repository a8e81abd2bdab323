-- One reviews item per business the day's searches found.
insert into yelp.progress (logical_date, item_type, item_key)
select distinct
    %(d)s::date as logical_date,
    'reviews' as item_type,
    business_id as item_key
from raw.yelp_search
where logical_date = %(d)s
on conflict do nothing
