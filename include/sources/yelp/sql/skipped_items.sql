-- Day D's items Yelp could not serve (LOCATION_NOT_FOUND, BUSINESS_NOT_FOUND).
select
    item_type,
    item_key,
    location,
    detail
from yelp.progress
where logical_date = %(d)s and status = 'skipped'
order by item_type, item_key
