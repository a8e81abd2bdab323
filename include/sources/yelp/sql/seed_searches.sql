-- One search item per county of the OLTP model, location "<County>, <ST>" built from the
-- normalized county and its state's postal code (never a bare county name).
insert into yelp.progress (logical_date, item_type, item_key, location)
select
    %(d)s::date as logical_date,
    'search' as item_type,
    c.county_fips as item_key,
    c.county_name || ', ' || s.state_code as location
from oltp.county as c
inner join oltp.census_state as cs on c.state_fips = cs.state_fips
inner join oltp.state as s on lower(cs.state_name) = lower(s.state_name)
on conflict do nothing
