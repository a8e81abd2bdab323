-- Claim the oldest due alert for one post, in its own short transaction: a pending row
-- whose backoff has passed, or a 'sending' row whose lease expired (its drain died
-- mid-post: it is posted again, at-least-once). SKIP LOCKED lets concurrent drains claim
-- different rows instead of the same one; the claim counts as an attempt.
with due as (
    select id
    from quality.alert_outbox
    where
        (status = 'pending' and next_attempt_at <= now())
        or (
            status = 'sending'
            and claimed_at < now() - make_interval(secs => %(lease_seconds)s)
        )
    order by id
    limit 1
    for update skip locked
)

update quality.alert_outbox as o
set
    status = 'sending',
    claimed_at = now(),
    claimed_by = %(claimed_by)s,
    attempts = o.attempts + 1
from due
where o.id = due.id
returning o.id, o.kind, o.payload, o.attempts
