-- One row per distinct Amplitude event (insert_id = $insert_id, else uuid), from the first
-- export day that carried it. Incremental merge on insert_id over the staging rows loaded
-- since the last build (a reloaded day is re-merged); a copy re-sent on a later export day
-- is skipped, a backfilled earlier day takes over. On BigQuery partitioned by event_date
-- (marts/amplitude folder config) and clustered by event_type.
{{ config(
    unique_key='insert_id',
    cluster_by=['event_type', 'insert_id'],
) }}

with batch as (
    select * from {{ ref('stg_amplitude__event') }}
    {{ newer_than_last_build('_loaded_at') }}
),

{% if is_incremental() %}
already as (
    select
        insert_id,
        export_day
    from {{ this }}
),
{% endif %}

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
        first_copies.insert_id,
        first_copies.event_time,
        first_copies.event_date,
        first_copies.event_type,
        first_copies.user_id,
        first_copies.device_id,
        first_copies.platform,
        first_copies.country,
        first_copies.wire_insert_id,
        first_copies.uuid,
        first_copies.event_id,
        first_copies.amplitude_id,
        first_copies.session_id,
        first_copies.client_event_time,
        first_copies.server_upload_time,
        first_copies.os_name,
        first_copies.city,
        first_copies.paying,
        first_copies.export_day,
        first_copies._loaded_at
    from first_copies
    {% if is_incremental() %}
    left join already on first_copies.insert_id = already.insert_id
    where already.insert_id is null or already.export_day >= first_copies.export_day
    {% endif %}
)

select * from final
