-- Slack answered 200 (or on-call asked to deliver now): the alerts waiting out an earlier
-- failure are due now.
update quality.alert_outbox
set next_attempt_at = now()
where status = 'pending' and next_attempt_at > now()
