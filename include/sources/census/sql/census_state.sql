-- oltp.census_state rows of one landed batch.
select
    state_fips,
    state_name
from raw.census_state
where batch_id = %(b)s
