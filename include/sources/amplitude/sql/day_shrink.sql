-- Day D as raw holds it against what this load offers (after its temp tables are filled):
-- the events raw.amplitude_event holds for D, and how many of them the load does not carry.
select
    count(*) as held,
    count(*) filter (
        where not exists (
            select 1 as offered_event from amp_event_in as offered
            where offered.event_key = held.event_key
        )
    ) as missing
from raw.amplitude_event as held
where held.export_day = %(d)s
