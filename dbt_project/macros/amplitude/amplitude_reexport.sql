{#
    How the Amplitude marts follow a re-exported export day (a rerun of day D in staging,
    possibly smaller than before: `accept_smaller_day`, or empty after a 404). Staging
    holds every export day whole; a mart row comes from the staged copy of its event.

    An export day is re-exported when staging holds rows of it newer than the mart's last
    build, or holds no row of it at all while the mart still has rows from it (the day was
    replaced by nothing). The events to recompute are those newer staged rows' events and
    every event the mart keeps from a re-exported day; the pre-hooks delete what the
    recomputed result no longer holds, the model's merge writes the rest. Both run on
    PostgreSQL and on BigQuery (plain DELETE + the merge; no partition overwrite).
#}

{# The latest _loaded_at the mart `kept` holds (1900-01-01 when empty). #}
{% macro amplitude_last_build(kept) -%}
    (
        select coalesce(max(last_build._loaded_at), {{ dbt.cast("'1900-01-01'", dbt.type_timestamp()) }})
        from {{ kept }} as last_build
    )
{%- endmacro %}

{# The export days re-exported since the mart `kept` was last built from `staged`. #}
{% macro amplitude_reexported_days(kept, staged) -%}
    select newer.export_day from {{ staged }} as newer
    where newer._loaded_at > {{ amplitude_last_build(kept) }}
    union distinct
    select gone.export_day from {{ kept }} as gone
    where not exists (
        select 1 from {{ staged }} as still
        where still.export_day = gone.export_day
    )
{%- endmacro %}

{# The events (insert_id) to recompute: staged since the last build, or kept from a
   re-exported day. #}
{% macro amplitude_changed_events(kept, staged) -%}
    select newer.insert_id from {{ staged }} as newer
    where newer._loaded_at > {{ amplitude_last_build(kept) }}
    union distinct
    select reexported.insert_id from {{ kept }} as reexported
    where reexported.export_day in ({{ amplitude_reexported_days(kept, staged) }})
{%- endmacro %}

{# fct_amplitude_event's pre-hook: delete the changed events no export day carries any
   more (the merge moves the others to their next staged copy). #}
{% macro amplitude_forget_events(kept, staged) -%}
    {%- if is_incremental() %}
    delete from {{ kept }} as forgotten
    where forgotten.insert_id in ({{ amplitude_changed_events(kept, staged) }})
        and not exists (
            select 1 from {{ staged }} as staged_copy
            where staged_copy.insert_id = forgotten.insert_id
        )
    {%- endif %}
{%- endmacro %}

{# amplitude_event_property's pre-hook: delete the property rows of changed events that
   the kept copy of the event (`events` x `staged`) no longer has. #}
{% macro amplitude_forget_properties(kept, staged, events) -%}
    {%- if is_incremental() %}
    delete from {{ kept }} as forgotten
    where forgotten.insert_id in ({{ amplitude_changed_events(kept, staged) }})
        and not exists (
            select 1 from {{ staged }} as staged_copy
            inner join {{ events }} as event
                on staged_copy.insert_id = event.insert_id and staged_copy.export_day = event.export_day
            where staged_copy.insert_id = forgotten.insert_id
                and staged_copy.property_type = forgotten.property_type
                and staged_copy.key = forgotten.key
        )
    {%- endif %}
{%- endmacro %}

{# The event days fct_amplitude_daily_active_users (`kept`) must recompute from `events`:
   days with events loaded since its last build, and days whose event count differs
   from what it holds (events deleted or moved). #}
{% macro amplitude_changed_event_dates(kept, events) -%}
    select newer.event_date from {{ events }} as newer
    where newer._loaded_at > {{ amplitude_last_build(kept) }}
    union distinct
    select coalesce(fct.event_date, dau.event_date) as event_date
    from (
        select counted.event_date, count(*) as events
        from {{ events }} as counted
        group by counted.event_date
    ) as fct
    full outer join (
        select summed.event_date, sum(summed.events) as events
        from {{ kept }} as summed
        group by summed.event_date
    ) as dau
        on fct.event_date = dau.event_date
    where fct.events is null or dau.events is null or fct.events != dau.events
{%- endmacro %}

{# fct_amplitude_daily_active_users's pre-hook: delete the days it recomputes (a
   platform x country group left without events must go). #}
{% macro amplitude_forget_active_users(kept, events) -%}
    {%- if is_incremental() %}
    delete from {{ kept }} as forgotten
    where forgotten.event_date in ({{ amplitude_changed_event_dates(kept, events) }})
    {%- endif %}
{%- endmacro %}
