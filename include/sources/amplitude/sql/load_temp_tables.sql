-- Session-local staging of one load: the parsed events and the quarantined lines.
create temp table amp_event_in (
    seq bigint not null,
    archive_key text not null,
    event_key text not null,
    insert_id text,
    uuid text,
    event_id bigint,
    amplitude_id bigint,
    user_id text,
    device_id text,
    session_id bigint,
    event_time timestamptz not null,
    client_event_time timestamptz,
    server_upload_time timestamptz,
    event_type text,
    platform text,
    os_name text,
    country text,
    city text,
    paying boolean,
    member text not null,
    line_number integer not null,
    event_properties jsonb,
    user_properties jsonb,
    group_properties jsonb,
    groups jsonb,
    data jsonb
) on commit drop;

create temp table amp_quarantine_in (
    archive_key text not null,
    member text not null,
    line_number integer,
    reason text not null,
    raw_line text
) on commit drop;
