-- Amplitude Export API, raw: one row per distinct event key ($insert_id, else uuid) per
-- export day, its property rows, and the quarantine of lines/members that could not load.
create table raw.amplitude_event (
    export_day         date        not null,   -- the UTC day exported (logical day D)
    event_key          text        not null,   -- $insert_id, falling back to uuid
    insert_id          text,
    uuid               text,
    event_id           bigint,
    amplitude_id       bigint,
    user_id            text,
    device_id          text,
    session_id         bigint,
    event_time         timestamptz not null,
    client_event_time  timestamptz,
    server_upload_time timestamptz,
    event_type         text,
    platform           text,
    os_name            text,
    country            text,
    city               text,
    paying             boolean,
    archive_key        text        not null,   -- the raw zip in the lake it came from
    member             text        not null,
    line_number        integer     not null,
    loaded_at          timestamptz not null default now(),
    primary key (export_day, event_key)
);
create index amplitude_event_event_day on raw.amplitude_event (((event_time at time zone 'UTC')::date));

create table raw.amplitude_event_property (
    export_day     date  not null,
    event_key      text  not null,
    property_type  text  not null check (property_type in ('event','user','group','groups','data')),
    key            text  not null,
    value          text,
    primary key (export_day, event_key, property_type, key),
    foreign key (export_day, event_key) references raw.amplitude_event on delete cascade
);

create table raw.amplitude_quarantine (
    export_day   date        not null,
    archive_key  text        not null,
    member       text        not null,
    line_number  integer,                      -- null: the whole member was unreadable
    reason       text        not null,
    raw_line     text,
    loaded_at    timestamptz not null default now()
);
create index amplitude_quarantine_day on raw.amplitude_quarantine (export_day);
