-- The exported updated_at windows (upper, lower) of a delta table for a warehouse
-- target that staging must hold, each [lower, upper) (a first, full export from year 1):
-- a row whose updated_at falls in one must be a key of staging. That is every window
-- whose day staging holds, every window that exported no rows, and every window exported
-- long enough ago that its load should have run; a window exported recently, with rows,
-- whose day staging does not hold yet is a load still to come (a backfill beside this
-- run) and is left out.
select
    e.watermark_to as upper_bound,
    coalesce(e.watermark_from, '0001-01-01 00:00+00'::timestamptz) as lower_bound
from lake.exports as e
where
    e.target = %(target)s
    and e.table_name = %(table)s
    and e.watermark_to is not null
    and (
        e.row_count = 0
        or e.day = any(%(staged)s::date[])
        or e.exported_at <= now() - make_interval(mins => %(in_flight_minutes)s)
    )
order by lower_bound, upper_bound
