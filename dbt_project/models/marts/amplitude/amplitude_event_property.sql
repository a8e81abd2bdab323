-- One row per Amplitude event x property (type: event, user, group, groups, data; the value
-- as text, nested values as JSON text), for the copy of the event that fct_amplitude_event
-- kept. Incremental merge on (insert_id, property_type, key) over the staging rows loaded
-- since the last build. On BigQuery partitioned by event_date (marts/amplitude folder
-- config) and clustered by key.
{{ config(
    unique_key=['insert_id', 'property_type', 'key'],
    cluster_by=['key', 'insert_id'],
) }}

with batch as (
    select * from {{ ref('stg_amplitude__event_property') }}
    {{ newer_than_last_build('_loaded_at') }}
),

events as (
    select
        insert_id,
        export_day,
        event_date
    from {{ ref('fct_amplitude_event') }}
),

final as (
    select
        batch.insert_id,
        batch.property_type,
        batch.key,
        batch.value,
        events.event_date,
        batch.export_day,
        batch._loaded_at
    from batch
    inner join events
        on
            batch.insert_id = events.insert_id
            and batch.export_day = events.export_day
)

select * from final
