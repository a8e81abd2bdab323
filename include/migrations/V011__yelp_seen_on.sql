-- Yelp: the latest day each business and city was seen (a rerun or backfill of an older day
-- adds its history but never rolls back the present), the per-record quarantine, and work
-- items Yelp cannot serve (a county it cannot find, a business without reviews to give).

-- seen_on: the latest logical day whose data the row holds. Upserts of a day D apply only
-- when D >= seen_on. Existing rows: their latest holding (or their last change).
alter table oltp.business add column seen_on date;
update oltp.business as b set seen_on = greatest(
    b.changed_on,
    (
        select max(h.holding_date) as last_holding from oltp.business_holding as h
        where h.business_id = b.business_id
    )
);
alter table oltp.business alter column seen_on set not null;

alter table oltp.city add column seen_on date;
update oltp.city as c set seen_on = coalesce(
    (
        select max(b.seen_on) as last_seen from oltp.business as b
        where b.state_code = c.state_code and b.city_name = c.city_name
    ),
    date '1900-01-01'
);
alter table oltp.city alter column seen_on set not null;

-- 'skipped': Yelp answered LOCATION_NOT_FOUND (a search) or BUSINESS_NOT_FOUND (reviews);
-- detail holds the error. Not pending, so it does not hold the day back; it is not retried.
alter table yelp.progress drop constraint progress_status_check;
alter table yelp.progress add constraint progress_status_check
check (status in ('pending', 'done', 'skipped'));

-- One row per record the parser set aside: a business of a search page or a review of a
-- business, with the reason (naming the field path) and the record's JSON text (capped).
-- item_type + item_key: the yelp.progress item (county_fips | business_id); county_fips:
-- the county searched (searches); record_position: the search offset (searches) or the review's
-- index (reviews); record_id: the record's "id", when readable; raw_record: at most 8 kB
-- of the record's JSON.
create table raw.yelp_quarantine (
    logical_date date not null,
    item_type text not null check (item_type in ('search', 'reviews')),
    item_key text not null,
    county_fips char(5),
    record_position integer not null,
    record_id text,
    reason text not null,
    raw_record text not null,
    loaded_at timestamptz not null default now(),
    primary key (logical_date, item_type, item_key, record_position)
);
