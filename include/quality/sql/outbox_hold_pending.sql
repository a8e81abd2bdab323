-- Slack is failing (5xx, connection error, 429): every pending alert waits at least as
-- long as the one that failed, so the backlog is not posted into the outage and keeps
-- its order (the oldest is tried first when the wait is over).
update quality.alert_outbox
set next_attempt_at = now() + make_interval(secs => %(delay_seconds)s)
where
    status = 'pending'
    and next_attempt_at < now() + make_interval(secs => %(delay_seconds)s)
