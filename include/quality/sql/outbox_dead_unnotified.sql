-- The dead letters no summary has named yet, marked as named (in the transaction that
-- inserts their one summary alert). SKIP LOCKED: two drains never name the same rows.
with newly as (
    select id
    from quality.alert_outbox
    where status = 'dead' and dead_notified_at is null
    order by id
    for update skip locked
)

update quality.alert_outbox as o
set dead_notified_at = now()
from newly
where o.id = newly.id
returning o.id, o.kind, o.dag_id, o.task_id, o.attempts, o.last_http_status, o.last_error
