-- Before a page's COPY, in its transaction: delete the page's keys and its quarantined
-- records (a resumed or repeated page replaces its rows), advance the county's progress,
-- and let the commit skip the WAL flush (a lost commit loses the page and its progress
-- together).
with cfg as (select set_config('synchronous_commit', 'off', true) as setting),

gone as (
    delete from raw.yelp_search
    where
        logical_date = %(d)s
        and county_fips = %(c)s
        and business_id = any(%(ids)s)
    returning 1
),

set_aside as (
    delete from raw.yelp_quarantine
    where
        logical_date = %(d)s
        and item_type = 'search'
        and item_key = %(c)s
        and record_position >= %(page_offset)s
        and record_position < %(next)s
    returning 1
),

moved as (
    update yelp.progress set next_offset = %(next)s, updated_at = now()
    where logical_date = %(d)s and item_type = 'search' and item_key = %(c)s
    returning 1
)

select
    (select count(*) as n from cfg) as applied,
    (select count(*) as n from gone) as deleted,
    (select count(*) as n from set_aside) as unquarantined,
    (select count(*) as n from moved) as progressed
