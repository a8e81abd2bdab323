-- Which landing of each source day a warehouse target's lake export saw. The export of
-- day D writes, in its own snapshot, the raw.landed_days rows it read; a landed day whose
-- landed_at is newer than what its target's last export of D saw (or that no export of D
-- saw) is still to be processed. The warehouse takes those days as well as the days its
-- asset events carry, so an asset event that never produced a run (Airflow drops events
-- that arrive while a max_active_runs=1 consumer is at its limit: apache/airflow#56050)
-- loses no day.
create table lake.exported_landings (
    target text not null,
    source text not null,
    day date not null,
    landed_at timestamptz not null,
    primary key (target, source, day)
);

-- Days exported before this migration: a landing no later than the target's last export
-- of the day counts as seen.
with last_export as (
    select
        target,
        day,
        max(exported_at) as exported_at
    from lake.exports
    group by target, day
)

insert into lake.exported_landings (target, source, day, landed_at)
select
    e.target,
    l.source,
    l.day,
    l.landed_at
from raw.landed_days as l
inner join last_export as e on l.day = e.day
where l.landed_at <= e.exported_at;

-- The days each warehouse run processes, fixed by its first task: a cleared and rerun
-- warehouse run processes the same days again, even those no asset event carried.
create table lake.warehouse_runs (
    run_id text not null,
    target text not null,
    run_days date[] not null,
    planned_at timestamptz not null default now(),
    primary key (run_id, target)
);
