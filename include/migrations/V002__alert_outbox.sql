-- Every alert is written here before delivery; undelivered ones stay 'pending' and are
-- retried before the next alert, so a Slack outage loses nothing.
create table quality.alert_outbox (
    id          bigserial   primary key,
    created_at  timestamptz not null default now(),
    dag_id      text,
    run_id      text,
    task_id     text,
    kind        text        not null,
    payload     jsonb       not null,
    status      text        not null default 'pending' check (status in ('pending','sent')),
    attempts    integer     not null default 0,
    last_error  text,
    sent_at     timestamptz
);
create index alert_outbox_pending on quality.alert_outbox (id) where status = 'pending';
