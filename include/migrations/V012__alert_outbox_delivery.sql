-- Delivery state of the Slack alert outbox (include/quality/alerts.py; the contract is in
-- docs/decisions.md, "Alerts always arrive"). A drain claims one due row at a time with
-- FOR UPDATE SKIP LOCKED and marks it 'sending' (claimed_at, claimed_by) in a short
-- transaction, posts it, then marks it 'sent'; a drain that dies mid-post leaves a
-- 'sending' row whose lease expires, and the row is claimed again (at-least-once).
-- 'dead' rows are dead letters: Slack rejected the payload (400/403/404/410) or it ran out
-- of attempts; one summary alert names them once (dead_notified_at).
alter table quality.alert_outbox drop constraint alert_outbox_status_check;
alter table quality.alert_outbox add constraint alert_outbox_status_check
check (status in ('pending', 'sending', 'sent', 'dead'));

alter table quality.alert_outbox
add column next_attempt_at timestamptz not null default now(),
add column claimed_at timestamptz,
add column claimed_by text,
add column last_http_status integer,
add column dead_at timestamptz,
add column dead_notified_at timestamptz;

-- What a drain looks for: rows due (pending, or sending with an expired lease), oldest first.
drop index quality.alert_outbox_pending;
create index alert_outbox_due on quality.alert_outbox (id)
where status in ('pending', 'sending');
-- Dead letters no summary has named yet.
create index alert_outbox_dead_unnotified on quality.alert_outbox (id)
where status = 'dead' and dead_notified_at is null;
