-- One row per Amplitude event x property (type: event, user, group, groups, data; the value
-- as text, nested values as JSON text), for the copy of the event that fct_amplitude_event
-- kept. Incremental merge on (insert_id, property_type, key): the events with property rows
-- staged since the last build and every event kept from a re-exported export day
-- (macros/amplitude) get their rows again from the kept copy; the pre-hook first deletes
-- their rows that copy no longer has (an event gone from fct_amplitude_event, or moved to
-- another export day's copy). On BigQuery partitioned by event_date (marts/amplitude folder
-- config) and clustered by key.
{{ config(
    unique_key=['insert_id', 'property_type', 'key'],
    cluster_by=['key', 'insert_id'],
    pre_hook="{{ amplitude_forget_properties(this, ref('stg_amplitude__event_property'),
        ref('fct_amplitude_event')) }}",
) }}

with staged as (
    select * from {{ ref('stg_amplitude__event_property') }}
),

events as (
    select
        insert_id,
        export_day,
        event_date
    from {{ ref('fct_amplitude_event') }}
),

{% if is_incremental() %}
changed as (
    {{ amplitude_changed_events(this, ref('stg_amplitude__event_property')) }}
),
{% endif %}

final as (
    select
        staged.insert_id,
        staged.property_type,
        staged.key,
        staged.value,
        events.event_date,
        staged.export_day,
        staged._loaded_at
    from staged
    inner join events
        on
            staged.insert_id = events.insert_id
            and staged.export_day = events.export_day
    {% if is_incremental() %}
    where staged.insert_id in (select changed.insert_id from changed)
    {% endif %}
)

select * from final
