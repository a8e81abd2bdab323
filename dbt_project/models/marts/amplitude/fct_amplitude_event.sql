-- One row per distinct Amplitude event (insert_id = $insert_id, else uuid): its first staged
-- copy (earliest export day, then upload time, archive, member, line), so a copy re-sent on
-- a later export day is skipped and a backfilled earlier day takes over. Incremental merge
-- on insert_id: the events staged since the last build and every event kept from a
-- re-exported export day (macros/amplitude) are recomputed from all their staged copies;
-- an event that its export day no longer carries moves to its next copy, and with no copy
-- left the pre-hook deletes it (a day replaced by a smaller one, accept_smaller_day). On
-- BigQuery partitioned by event_date (marts/amplitude folder config) and clustered by
-- event_type.
{{ config(
    unique_key='insert_id',
    cluster_by=['event_type', 'insert_id'],
    pre_hook="{{ amplitude_forget_events(this, ref('stg_amplitude__event')) }}",
) }}

with staged as (
    select * from {{ ref('stg_amplitude__event') }}
),

{% if is_incremental() %}
changed as (
    {{ amplitude_changed_events(this, ref('stg_amplitude__event')) }}
),
{% endif %}

batch as (
    select * from staged
    {% if is_incremental() %}
    where insert_id in (select changed.insert_id from changed)
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by insert_id
            order by export_day, server_upload_time, archive_key, member, line_number
        ) as copy_rank
    from batch
),

first_copies as (
    select * from ranked
    where copy_rank = 1
),

final as (
    select
        insert_id,
        event_time,
        event_date,
        event_type,
        user_id,
        device_id,
        platform,
        country,
        wire_insert_id,
        uuid,
        event_id,
        amplitude_id,
        session_id,
        client_event_time,
        server_upload_time,
        os_name,
        city,
        paying,
        export_day,
        _loaded_at
    from first_copies
)

select * from final
