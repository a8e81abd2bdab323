-- Daily active users by UTC event day x platform x country (missing values as '(unknown)').
-- A user is Amplitude's amplitude_id, else user_id, else device_id. Incremental: the days
-- that received events since the last build, and the days whose event count no longer
-- matches fct_amplitude_event (events removed or moved by a re-exported export day), are
-- recomputed whole from fct_amplitude_event; the pre-hook deletes those days first (a group
-- left without events goes), the merge writes them. On BigQuery partitioned by event_date
-- (marts/amplitude folder config).
{{ config(
    unique_key=['event_date', 'platform', 'country'],
    pre_hook="{{ amplitude_forget_active_users(this, ref('fct_amplitude_event')) }}",
) }}

with events as (
    select * from {{ ref('fct_amplitude_event') }}
),

{% if is_incremental() %}
changed_days as (
    {{ amplitude_changed_event_dates(this, ref('fct_amplitude_event')) }}
),
{% endif %}

day_events as (
    select
        event_date,
        coalesce(platform, '(unknown)') as platform,
        coalesce(country, '(unknown)') as country,
        case
            when amplitude_id is not null
                then {{ dbt.concat(["'a:'", dbt.cast('amplitude_id', dbt.type_string())]) }}
            when user_id is not null then {{ dbt.concat(["'u:'", 'user_id']) }}
            else {{ dbt.concat(["'d:'", 'device_id']) }}
        end as user_identity,
        _loaded_at
    from events
    {% if is_incremental() %}
    where event_date in (select changed_days.event_date from changed_days)
    {% endif %}
),

final as (
    select
        event_date,
        platform,
        country,
        count(distinct user_identity) as active_users,
        count(*) as events,
        max(_loaded_at) as _loaded_at
    from day_events
    group by event_date, platform, country
)

select * from final
