insert into raw.yelp_business_move (old_business_id, new_business_id, seen_on)
values (%(old)s, %(new)s, %(d)s)
on conflict (old_business_id) do update set
    new_business_id = excluded.new_business_id,
    seen_on = excluded.seen_on
