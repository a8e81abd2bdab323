-- Yelp Fusion: raw landing per (day, county) and per (day, business), the run's work queue
-- (resumable across runs and quota stops), and the OLTP business model.
create schema if not exists yelp;

-- Work queue of a logical day: one item per county search and per business's reviews.
-- A run takes the pending items; a quota stop leaves the rest pending for the next run.
create table yelp.progress (
    logical_date  date        not null,
    item_type     text        not null check (item_type in ('search', 'reviews')),
    item_key      text        not null,          -- county_fips | business_id
    location      text,                          -- "<County>, <ST>" for searches
    next_offset   integer     not null default 0,
    status        text        not null default 'pending' check (status in ('pending', 'done')),
    detail        text,
    updated_at    timestamptz not null default now(),
    primary key (logical_date, item_type, item_key)
);

-- One row per business per county search per day; a county's rows are written page by page
-- (upsert on the key), so a resumed search never duplicates.
create table raw.yelp_search (
    logical_date  date        not null,
    county_fips   char(5)     not null,
    business_id   text        not null,
    search_offset integer     not null,
    alias         text,
    name          text,
    is_closed     boolean,
    url           text,
    phone         text,
    review_count  integer,
    rating        numeric(2,1),
    price         text,
    latitude      double precision,
    longitude     double precision,
    address1      text,
    address2      text,
    address3      text,
    city          text,
    zip_code      text,
    country       text,
    state         text,
    categories    jsonb       not null default '[]',   -- [[alias, title], ...]
    transactions  jsonb       not null default '[]',   -- ["delivery", ...]
    loaded_at     timestamptz not null default now(),
    primary key (logical_date, county_fips, business_id)
);

create table raw.yelp_review (
    logical_date      date        not null,
    business_id       text        not null,   -- the id the reviews were fetched for (after a 301)
    review_id         text        not null,
    user_id           text        not null,
    user_name         text,
    user_profile_url  text,
    user_image_url    text,
    rating            smallint,
    text              text,
    time_created      timestamptz,
    loaded_at         timestamptz not null default now(),
    primary key (logical_date, business_id, review_id)
);

-- A 301 BUSINESS_MIGRATED seen on a day: the old id now lives under new_id.
create table raw.yelp_business_move (
    old_business_id text       primary key,
    new_business_id text       not null,
    seen_on        date        not null,
    loaded_at      timestamptz not null default now()
);

-- OLTP: natural keys, updated_at moving only on change (lake export watermarks). Bridges
-- keep removed links as is_current = false so the change reaches the lake and snapshots.
create table oltp.city (
    state_code    char(2)     not null references oltp.state,
    city_name     text        not null,
    county_fips   char(5)     references oltp.county,
    updated_at    timestamptz not null default now(),
    primary key (state_code, city_name)
);

create table oltp.business (
    business_id   text        primary key,
    alias         text,
    business_name text        not null,
    address1      text,
    address2      text,
    address3      text,
    zip_code      text,
    phone         text,
    url           text,
    price_level   smallint    check (price_level between 1 and 4),
    latitude      double precision check (latitude between -90 and 90),
    longitude     double precision check (longitude between -180 and 180),
    state_code    char(2)     references oltp.state,
    city_name     text,
    county_fips   char(5)     references oltp.county,
    changed_on    date        not null,   -- logical day D whose data last changed the row
    updated_at    timestamptz not null default now(),
    foreign key (state_code, city_name) references oltp.city
);
create index business_updated_at on oltp.business (updated_at);

create table oltp.category (
    category_alias text       primary key,
    title          text       not null,
    updated_at     timestamptz not null default now()
);

create table oltp.business_category (
    business_id    text       not null references oltp.business,
    category_alias text       not null references oltp.category,
    is_current     boolean    not null default true,
    updated_at     timestamptz not null default now(),
    primary key (business_id, category_alias)
);

create table oltp.transaction_type (
    transaction_type text     primary key,
    updated_at       timestamptz not null default now()
);

create table oltp.business_transaction (
    business_id      text     not null references oltp.business,
    transaction_type text     not null references oltp.transaction_type,
    is_current       boolean  not null default true,
    updated_at       timestamptz not null default now(),
    primary key (business_id, transaction_type)
);

create table oltp.yelp_user (
    user_id      text         primary key,
    user_name    text,
    profile_url  text,
    image_url    text,
    updated_at   timestamptz  not null default now()
);

create table oltp.review (
    review_id    text         primary key,
    business_id  text         not null references oltp.business,
    user_id      text         not null references oltp.yelp_user,
    rating       smallint     check (rating between 1 and 5),
    text_excerpt text,
    created_at   timestamptz,
    updated_at   timestamptz  not null default now()
);

create table oltp.business_holding (
    business_id  text         not null references oltp.business,
    holding_date date         not null,
    rating       numeric(2,1) check (rating between 1 and 5),
    review_count integer      check (review_count >= 0),
    is_closed    boolean,
    updated_at   timestamptz  not null default now(),
    primary key (business_id, holding_date)
);
create index business_holding_updated_at on oltp.business_holding (updated_at);
