-- Yelp: seen_on on the rest of the model (V011 gave it to oltp.business and oltp.city), so
-- a rerun or backfill of an older day never rolls back a category title, a user or a
-- review that a newer day wrote. An upsert of day D changes a row only when D >= seen_on;
-- a later D moves seen_on forward without touching updated_at (include/landing upsert).
-- Existing rows: the latest landed day that carries them (a rerun of that day may still
-- rewrite them), else 1900-01-01 (any day may). One grouped pass over raw per table.

alter table oltp.category add column seen_on date;
update oltp.category as c set seen_on = s.last_seen
from (
    select
        e ->> 0 as category_alias,
        max(r.logical_date) as last_seen
    from raw.yelp_search as r, jsonb_array_elements(r.categories) as e
    group by e ->> 0
) as s
where c.category_alias = s.category_alias;
update oltp.category set seen_on = date '1900-01-01'
where seen_on is null;
alter table oltp.category alter column seen_on set not null;

alter table oltp.yelp_user add column seen_on date;
update oltp.yelp_user as u set seen_on = s.last_seen
from (
    select
        user_id,
        max(logical_date) as last_seen
    from raw.yelp_review
    group by user_id
) as s
where u.user_id = s.user_id;
update oltp.yelp_user set seen_on = date '1900-01-01'
where seen_on is null;
alter table oltp.yelp_user alter column seen_on set not null;

alter table oltp.review add column seen_on date;
update oltp.review as o set seen_on = s.last_seen
from (
    select
        review_id,
        max(logical_date) as last_seen
    from raw.yelp_review
    group by review_id
) as s
where o.review_id = s.review_id;
update oltp.review set seen_on = date '1900-01-01'
where seen_on is null;
alter table oltp.review alter column seen_on set not null;
