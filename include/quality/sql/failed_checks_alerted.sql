-- Whether the run's failed-checks alert is in the outbox already (one per run).
select exists(
    select 1 as one
    from quality.alert_outbox
    where
        kind = 'failed_checks'
        and dag_id = %(dag_id)s
        and run_id = %(run_id)s
) as alerted
