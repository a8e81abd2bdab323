-- The checks a DAG has already warned Slack about for a day (sent or still pending).
select distinct c.check_name
from quality.alert_outbox as o,
    jsonb_array_elements_text(
        o.payload -> 'metadata' -> 'event_payload' -> 'checks'
    ) as c (check_name)
where
    o.kind = 'dq_warning'
    and o.dag_id = %(dag)s
    and o.payload -> 'metadata' -> 'event_payload' ->> 'logical_date' = %(d)s
