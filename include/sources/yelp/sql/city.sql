select distinct on (state_code, city)
    state_code,
    city,
    county_fips
from yelp_placed
where city is not null
order by state_code asc, city asc, county_fips asc
