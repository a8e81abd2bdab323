-- A transient failure (5xx, connection error, timeout, 429): pending again, due after
-- the backoff.
update quality.alert_outbox
set
    status = 'pending',
    next_attempt_at = now() + make_interval(secs => %(delay_seconds)s),
    last_error = %(error)s,
    last_http_status = %(http_status)s
where id = %(id)s and status = 'sending' and claimed_by = %(claimed_by)s
