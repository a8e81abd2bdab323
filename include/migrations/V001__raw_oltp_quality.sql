-- Raw landing (one batch per source and logical date), the normalized OLTP model,
-- and the quality schema that every check writes to.
create schema if not exists raw;
create schema if not exists oltp;
create schema if not exists quality;

create table raw.batches (
    batch_id      uuid primary key,
    source        text        not null,
    logical_date  date        not null,
    row_count     integer     not null,
    loaded_at     timestamptz not null default now(),
    unique (source, logical_date)
);

create table raw.states_page (
    batch_id      uuid        not null references raw.batches on delete cascade,
    logical_date  date        not null,
    loaded_at     timestamptz not null,
    source        text        not null,
    row_num       integer     not null,
    state_name    text,
    state_code    text,
    is_state      boolean     not null,
    primary key (batch_id, row_num)
);

create table raw.census_county_population (
    batch_id      uuid        not null references raw.batches on delete cascade,
    logical_date  date        not null,
    loaded_at     timestamptz not null,
    source        text        not null,
    row_num       integer     not null,
    county_name   text,
    state_name    text,
    state_fips    text        not null,
    county_fips   text        not null,
    date_code     integer     not null,
    population_year integer,
    population    bigint,
    primary key (batch_id, row_num)
);

create table raw.census_state (
    batch_id      uuid        not null references raw.batches on delete cascade,
    logical_date  date        not null,
    loaded_at     timestamptz not null,
    source        text        not null,
    row_num       integer     not null,
    state_fips    text        not null,
    state_name    text        not null,
    primary key (batch_id, row_num)
);

-- OLTP: each table keeps updated_at, which moves only when a row's values change, so
-- the lake export can be incremental and a rerun of the same data changes nothing.
create table oltp.state (
    state_code    char(2)     primary key check (state_code ~ '^[A-Z]{2}$'),
    state_name    text        not null unique,
    is_state      boolean     not null,
    updated_at    timestamptz not null default now()
);

create table oltp.census_state (
    state_fips    char(2)     primary key check (state_fips ~ '^[0-9]{2}$'),
    state_name    text        not null,
    updated_at    timestamptz not null default now()
);

create table oltp.county (
    county_fips   char(5)     primary key check (county_fips ~ '^[0-9]{5}$'),
    state_fips    char(2)     not null references oltp.census_state,
    county_name   text        not null,
    updated_at    timestamptz not null default now()
);

create table oltp.county_population (
    county_fips     char(5)   not null references oltp.county,
    population_year smallint  not null,
    population      bigint    check (population >= 0),
    updated_at      timestamptz not null default now(),
    primary key (county_fips, population_year)
);
create index county_population_updated_at on oltp.county_population (updated_at);

create table quality.check_results (
    id            bigserial   primary key,
    run_id        text        not null,
    dag_id        text        not null,
    task_id       text        not null,
    logical_date  date        not null,
    check_name    text        not null,
    dimension     text        not null check (dimension in
                  ('accuracy','completeness','consistency','validity','uniqueness','timeliness')),
    target        text        not null,
    status        text        not null check (status in ('pass','warn','fail','error')),
    observed      text,
    expected      text,
    details       jsonb       not null default '{}'::jsonb,
    created_at    timestamptz not null default now()
);
create index check_results_run on quality.check_results (dag_id, run_id);
