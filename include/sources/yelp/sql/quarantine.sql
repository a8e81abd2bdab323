-- One record an answer set aside (a repeated answer replaces it).
insert into raw.yelp_quarantine (
    logical_date, item_type, item_key, county_fips, record_position, record_id, reason, raw_record
)
values (
    %(d)s, %(type)s, %(key)s, %(county)s, %(record_position)s, %(record_id)s, %(reason)s, %(raw)s
)
on conflict (logical_date, item_type, item_key, record_position) do update set
    county_fips = excluded.county_fips,
    record_id = excluded.record_id,
    reason = excluded.reason,
    raw_record = excluded.raw_record,
    loaded_at = now()
