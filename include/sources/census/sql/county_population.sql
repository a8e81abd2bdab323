-- oltp.county_population rows of one landed batch: July 1 estimates only (the census/base
-- date codes have no population_year and stay in raw).
select
    county_fips,
    population_year,
    population
from raw.census_county_population
where batch_id = %(b)s and population_year is not null
