-- Day D's businesses, once each: a business found by several county searches is placed in
-- the lowest-FIPS county that found it (Yelp has no county field), with its state's code.
create temp table yelp_placed on commit drop as
with found as (
    select distinct on (s.final_business_id)
        s.final_business_id as business_id,
        s.county_fips,
        s.alias,
        s.name,
        s.is_closed,
        s.url,
        s.phone,
        s.review_count,
        s.rating,
        s.price,
        s.latitude,
        s.longitude,
        s.address1,
        s.address2,
        s.address3,
        s.city,
        s.zip_code
    from yelp.ready_search as s
    where s.logical_date = %(d)s
    order by s.final_business_id asc, s.county_fips asc
)

select
    f.*,
    st.state_code
from found as f
inner join oltp.county as c on f.county_fips = c.county_fips
inner join oltp.census_state as cs on c.state_fips = cs.state_fips
inner join oltp.state as st on lower(cs.state_name) = lower(st.state_name)
