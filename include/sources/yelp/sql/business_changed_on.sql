-- changed_on is the first day of the run of loaded days that carry the present described
-- values (the SCD2 version's start), whatever order the days are normalized in. A day D
-- older than the latest day seen (a backfill or rerun, which never changes the present):
-- * describing the business as the present does, just before the version's start (no
--   other day of the business loaded in between): the version already held on D;
-- * describing it otherwise, inside the version's run: the version started after D, on the
--   next day of the business that was loaded (its holding's day).
-- A day at or after seen_on is handled by business.sql (a change starts a version on D).
-- business.sql locked these rows for the transaction: the values read here are current.
with older_day as (
    select
        b.business_id,
        exists(
            select 1 as same
            where (
                b.alias, b.business_name, b.address1, b.address2, b.address3, b.zip_code,
                b.phone, b.url, b.price_level, b.latitude, b.longitude, b.state_code,
                b.city_name, b.county_fips
            ) is not distinct from (
                p.alias, p.name, p.address1, p.address2, p.address3, p.zip_code,
                nullif(p.phone, ''), p.url, length(p.price), p.latitude, p.longitude,
                p.state_code, p.city, p.county_fips
            )
        ) as described
    from oltp.business as b
    inner join yelp_placed as p on b.business_id = p.business_id
    where %(d)s::date < b.seen_on
)

update oltp.business as b
set
    changed_on = case
        when o.described then %(d)s::date
        else (
            select min(h.holding_date) as next_day
            from oltp.business_holding as h
            where h.business_id = b.business_id and h.holding_date > %(d)s
        )
    end,
    updated_at = now()
from older_day as o
where
    b.business_id = o.business_id
    and (
        (
            o.described
            and %(d)s::date < b.changed_on
            and not exists (
                select 1 as loaded
                from oltp.business_holding as h
                where
                    h.business_id = b.business_id
                    and h.holding_date > %(d)s
                    and h.holding_date < b.changed_on
            )
        )
        or (
            not o.described
            and %(d)s::date >= b.changed_on
            and exists (
                select 1 as loaded
                from oltp.business_holding as h
                where h.business_id = b.business_id and h.holding_date > %(d)s
            )
        )
    )
