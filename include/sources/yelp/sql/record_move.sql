-- A 301 move as the latest day seen says it: an older day (a backfill or rerun) neither
-- moves seen_on back nor changes where the id moved to, in whatever order days run.
insert into raw.yelp_business_move (old_business_id, new_business_id, seen_on)
values (%(old)s, %(new)s, %(d)s)
on conflict (old_business_id) do update set
    new_business_id = excluded.new_business_id,
    seen_on = excluded.seen_on
where yelp_business_move.seen_on <= excluded.seen_on
