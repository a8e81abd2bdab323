-- oltp.county rows of one landed batch: one per county, named as in its latest date code.
select distinct on (county_fips)
    county_fips,
    state_fips,
    county_name
from raw.census_county_population
where batch_id = %(b)s
order by county_fips asc, date_code desc
