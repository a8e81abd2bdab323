-- The property rows of a day are inserted in the same transaction as their events, from a
-- join with the events kept, so the foreign key only re-checked what the load guarantees:
-- per row (half of the load's time at 1M events), and its ON DELETE CASCADE deleted a rerun
-- day's properties row by row. The load now deletes the day's properties itself; dbt's
-- relationships test checks the link in the warehouse.
alter table raw.amplitude_event_property
    drop constraint if exists amplitude_event_property_export_day_event_key_fkey;
