-- Amplitude property rows as staged: event key x property type x key, per export day.
with source as (
    select * from {{ source('amplitude', 'amplitude_event_property') }}
),

final as (
    select
        event_key as insert_id,
        property_type,
        key,
        value,
        export_day,
        _loaded_at
    from source
)

select * from final
