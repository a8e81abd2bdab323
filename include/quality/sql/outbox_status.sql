select status from quality.alert_outbox
where id = %(id)s
