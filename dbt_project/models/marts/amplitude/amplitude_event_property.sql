-- One row per Amplitude event x property (type: event, user, group, groups, data; the value
-- as text, nested values as JSON text), for the copy of the event that fct_amplitude_event
-- kept. Incremental merge on (insert_id, property_type, key) over the staging rows loaded
-- since the last build. On BigQuery partitioned by event_date and clustered by key.
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['insert_id', 'property_type', 'key'],
    on_schema_change='fail',
    partition_by=({'field': 'event_date', 'data_type': 'date', 'granularity': 'day'}
                  if target.type == 'bigquery' else none),
    cluster_by=(['key', 'insert_id'] if target.type == 'bigquery' else none),
) }}

with batch as (
    select * from {{ ref('stg_amplitude__event_property') }}
    {% if is_incremental() %}
    where _loaded_at > (select coalesce(max(_loaded_at), {{ dbt.cast("'1900-01-01'", api.Column.translate_type('timestamp')) }}) from {{ this }})
    {% endif %}
),

events as (
    select insert_id, export_day, event_date from {{ ref('fct_amplitude_event') }}
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
        on events.insert_id = batch.insert_id
        and events.export_day = batch.export_day
)

select * from final
