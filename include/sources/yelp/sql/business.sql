-- changed_on = D only when a described value changes (it is not compared itself), so SCD2
-- versions start on the business day of the change, not the load's clock. A row changes
-- only for a day D at or after the latest day it was seen (seen_on): a rerun or backfill
-- of an older day never rolls back the present (business_seen.sql moves seen_on forward).
insert into oltp.business (
    business_id, alias, business_name, address1, address2, address3, zip_code, phone, url,
    price_level, latitude, longitude, state_code, city_name, county_fips, changed_on, seen_on
)
select
    business_id,
    alias,
    name,
    address1,
    address2,
    address3,
    zip_code,
    nullif(phone, '') as phone,
    url,
    length(price) as price_level,
    latitude,
    longitude,
    state_code,
    city,
    county_fips,
    %(d)s::date as changed_on,
    %(d)s::date as seen_on
from yelp_placed
on conflict (business_id) do update set
    alias = excluded.alias,
    business_name = excluded.business_name,
    address1 = excluded.address1,
    address2 = excluded.address2,
    address3 = excluded.address3,
    zip_code = excluded.zip_code,
    phone = excluded.phone,
    url = excluded.url,
    price_level = excluded.price_level,
    latitude = excluded.latitude,
    longitude = excluded.longitude,
    state_code = excluded.state_code,
    city_name = excluded.city_name,
    county_fips = excluded.county_fips,
    changed_on = excluded.changed_on,
    seen_on = excluded.seen_on,
    updated_at = now()
where business.seen_on <= excluded.seen_on and (
    business.alias, business.business_name, business.address1, business.address2,
    business.address3, business.zip_code, business.phone, business.url, business.price_level,
    business.latitude, business.longitude, business.state_code, business.city_name,
    business.county_fips
) is distinct from (
    excluded.alias, excluded.business_name, excluded.address1, excluded.address2,
    excluded.address3, excluded.zip_code, excluded.phone, excluded.url, excluded.price_level,
    excluded.latitude, excluded.longitude, excluded.state_code, excluded.city_name,
    excluded.county_fips
)
