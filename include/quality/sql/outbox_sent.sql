-- Slack answered 200. Only the drain holding the claim records it (a drain whose lease
-- expired finds its row claimed by another: 0 rows).
update quality.alert_outbox
set
    status = 'sent',
    sent_at = now(),
    last_error = null,
    last_http_status = %(http_status)s
where id = %(id)s and status = 'sending' and claimed_by = %(claimed_by)s
