-- An alert enters the outbox before any delivery attempt: due now, status 'pending'.
insert into quality.alert_outbox (dag_id, run_id, task_id, kind, payload)
values (%(dag_id)s, %(run_id)s, %(task_id)s, %(kind)s, %(payload)s::jsonb)
returning id
