-- The run's checks that failed or could not be evaluated, for the failed-checks alert.
select
    check_name,
    target,
    dimension,
    status,
    observed,
    expected
from quality.check_results
where
    dag_id = %(dag_id)s
    and run_id = %(run_id)s
    and status in ('fail', 'error')
order by id
