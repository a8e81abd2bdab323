-- The checks a DAG has already warned Slack about for a day (sent or still pending).
with warnings as (
    select o.payload -> 'metadata' -> 'event_payload' as event_payload
    from quality.alert_outbox as o
    where o.kind = 'dq_warning' and o.dag_id = %(dag)s
)

select distinct c.check_name
from warnings as w, jsonb_array_elements_text(w.event_payload -> 'checks') as c (check_name)
where w.event_payload ->> 'logical_date' = %(d)s
