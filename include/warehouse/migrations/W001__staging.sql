-- The warehouse staging schema as the load created it before versioned migrations: one
-- table per lake table of include/sources/<name>/lake.py with its columns, the lake day
-- the row was loaded from and when, and an index on that day (a load replaces one day).
-- "if not exists" throughout, so a warehouse the load had already provisioned records
-- this file as applied and changes nothing. A lake column added later comes with a new
-- file W<NNN>__*.sql here. (noqa RF04: alias, key and value are the lake's column names.)
create schema if not exists staging;

-- states_page
create table if not exists staging.state (
    state_code text,
    state_name text,
    is_state boolean,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists state_lake_day on staging.state (_lake_day);

-- census
create table if not exists staging.census_state (
    state_fips text,
    state_name text,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists census_state_lake_day on staging.census_state (_lake_day);
create table if not exists staging.county (
    county_fips text,
    state_fips text,
    county_name text,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists county_lake_day on staging.county (_lake_day);
create table if not exists staging.county_population (
    county_fips text,
    population_year smallint,
    population bigint,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists county_population_lake_day on staging.county_population (_lake_day);

-- yelp
create table if not exists staging.city (
    state_code text,
    city_name text,
    county_fips text,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists city_lake_day on staging.city (_lake_day);
create table if not exists staging.business (
    business_id text,
    alias text,  -- noqa: RF04
    business_name text,
    address1 text,
    address2 text,
    address3 text,
    zip_code text,
    phone text,
    url text,
    price_level smallint,
    latitude double precision,
    longitude double precision,
    state_code text,
    city_name text,
    county_fips text,
    changed_on date,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists business_lake_day on staging.business (_lake_day);
create table if not exists staging.category (
    category_alias text,
    title text,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists category_lake_day on staging.category (_lake_day);
create table if not exists staging.business_category (
    business_id text,
    category_alias text,
    is_current boolean,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists business_category_lake_day on staging.business_category (_lake_day);
create table if not exists staging.transaction_type (
    transaction_type text,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists transaction_type_lake_day on staging.transaction_type (_lake_day);
create table if not exists staging.business_transaction (
    business_id text,
    transaction_type text,
    is_current boolean,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists business_transaction_lake_day
on staging.business_transaction (_lake_day);
create table if not exists staging.yelp_user (
    user_id text,
    user_name text,
    profile_url text,
    image_url text,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists yelp_user_lake_day on staging.yelp_user (_lake_day);
create table if not exists staging.review (
    review_id text,
    business_id text,
    user_id text,
    rating smallint,
    text_excerpt text,
    created_at timestamptz,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists review_lake_day on staging.review (_lake_day);
create table if not exists staging.business_holding (
    business_id text,
    holding_date date,
    rating double precision,
    review_count bigint,
    is_closed boolean,
    updated_at timestamptz,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists business_holding_lake_day on staging.business_holding (_lake_day);

-- amplitude
create table if not exists staging.amplitude_event (
    export_day date,
    event_key text,
    insert_id text,
    uuid text,
    event_id bigint,
    amplitude_id bigint,
    user_id text,
    device_id text,
    session_id bigint,
    event_time timestamptz,
    client_event_time timestamptz,
    server_upload_time timestamptz,
    event_type text,
    platform text,
    os_name text,
    country text,
    city text,
    paying boolean,
    archive_key text,
    member text,
    line_number bigint,
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists amplitude_event_lake_day on staging.amplitude_event (_lake_day);
create table if not exists staging.amplitude_event_property (
    export_day date,
    event_key text,
    property_type text,
    key text,  -- noqa: RF04
    value text,  -- noqa: RF04
    _lake_day date not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists amplitude_event_property_lake_day
on staging.amplitude_event_property (_lake_day);
