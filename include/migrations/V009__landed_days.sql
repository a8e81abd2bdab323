-- The days each source's run completed (landed, checked and normalized): the warehouse
-- says which source is behind for the day it builds.
create table raw.landed_days (
    source text not null,
    day date not null,
    landed_at timestamptz not null default now(),
    primary key (source, day)
);
