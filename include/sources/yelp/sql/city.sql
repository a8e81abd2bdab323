-- A city's county is the lowest-FIPS county of D's businesses in it; it changes only for a
-- day D at or after the city's latest day (seen_on), like oltp.business.
insert into oltp.city (state_code, city_name, county_fips, seen_on)
select distinct on (state_code, city)
    state_code,
    city,
    county_fips,
    %(d)s::date as seen_on
from yelp_placed
where city is not null
order by state_code asc, city asc, county_fips asc
on conflict (state_code, city_name) do update set
    county_fips = excluded.county_fips,
    seen_on = excluded.seen_on,
    updated_at = now()
where city.seen_on <= excluded.seen_on and city.county_fips is distinct from excluded.county_fips
