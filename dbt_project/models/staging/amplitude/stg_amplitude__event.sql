-- Amplitude events as staged: one row per event key and export day. `insert_id` is the
-- event key ($insert_id, falling back to uuid); the wire's own $insert_id stays in
-- `wire_insert_id`. event_date is the UTC day of event_time (an event exported on day D
-- can have happened late on D-1: the export is by upload time).
with source as (
    select * from {{ source('amplitude', 'amplitude_event') }}
),

final as (
    select
        event_key as insert_id,
        insert_id as wire_insert_id,
        uuid,
        event_id,
        amplitude_id,
        user_id,
        device_id,
        session_id,
        event_time,
        {{ utc_date('event_time') }} as event_date,
        client_event_time,
        server_upload_time,
        event_type,
        platform,
        os_name,
        country,
        city,
        paying,
        export_day,
        archive_key,
        member,
        line_number,
        _loaded_at
    from source
)

select * from final
