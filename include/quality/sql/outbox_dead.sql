-- A dead letter: Slack rejected the payload for good (400/403/404/410), or it ran out of
-- attempts. A dead-letter summary that dies is never summarized again (no summary of a
-- summary): it is marked notified at once.
update quality.alert_outbox
set
    status = 'dead',
    dead_at = now(),
    last_error = %(error)s,
    last_http_status = %(http_status)s,
    dead_notified_at = case when kind = %(summary_kind)s then now() end
where id = %(id)s and status = 'sending' and claimed_by = %(claimed_by)s
returning kind
