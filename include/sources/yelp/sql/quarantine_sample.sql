-- A few of day D's quarantined records, for the check's details.
select
    item_type,
    item_key,
    record_position,
    left(reason, 300) as reason
from raw.yelp_quarantine
where logical_date = %(d)s
order by item_type, item_key, record_position
limit 5
