-- The data-quality report's numbers (include/reports/quality.py renders them; the Airflow
-- UI page and `make report` show them). Every figure is a view over quality.check_results,
-- so the report and an analyst's psql see the same numbers.
--
-- A check is (dag_id, check_name, target); its result for a day is its latest row for that
-- logical_date (a rerun of the day in a new run replaces the earlier run's answer). The
-- source is the DAG's source; the warehouse DAG's checks (dbt tests, reconciliation, source
-- freshness) are the source 'warehouse', their table named by the target without dbt's
-- "model.<project>." prefix.

create view quality.report_results as
with latest as (
    select distinct on (r.dag_id, r.check_name, r.target, r.logical_date)
        r.id,
        r.run_id,
        r.dag_id,
        r.task_id,
        r.logical_date,
        r.check_name,
        r.dimension,
        r.target,
        r.status,
        r.observed,
        r.expected,
        r.created_at
    from quality.check_results as r
    order by
        r.dag_id asc, r.check_name asc, r.target asc, r.logical_date asc,
        r.created_at desc, r.id desc
)

select
    latest.id,
    latest.run_id,
    latest.dag_id,
    latest.task_id,
    latest.logical_date as day,
    latest.check_name,
    latest.dimension,
    latest.target,
    latest.status,
    latest.observed,
    latest.expected,
    latest.created_at,
    case latest.dag_id
        when 'census_population' then 'census'
        when 'yelp_businesses' then 'yelp'
        when 'amplitude_events' then 'amplitude'
        when 'states_page' then 'states_page'
        else latest.dag_id
    end as source,
    regexp_replace(latest.target, '^model\.[a-z_]+\.', '') as table_name
from latest;

-- The six dimensions, whether or not a check of one ran: a dimension with no check shows
-- as such (checks = 0, pass_share null), never as missing.
create view quality.report_dimensions as
select dimension
from (
    values
    ('accuracy'), ('completeness'), ('consistency'), ('validity'), ('uniqueness'),
    ('timeliness')
) as d (dimension);

-- Share of checks passing per source x dimension x day. A warning counts as passing (it
-- did not block the load) and is counted apart; an error (a check that could not be
-- evaluated) counts as failing.
create view quality.report_dimension_daily as
with days as (
    select distinct
        report_results.day,
        report_results.source
    from quality.report_results
),

counts as (
    select
        report_results.day,
        report_results.source,
        report_results.dimension,
        count(*) as checks,
        count(*) filter (where report_results.status in ('pass', 'warn')) as passed,
        count(*) filter (where report_results.status = 'warn') as warned,
        count(*) filter (where report_results.status in ('fail', 'error')) as failed
    from quality.report_results
    group by report_results.day, report_results.source, report_results.dimension
)

select
    days.day,
    days.source,
    dims.dimension,
    coalesce(counts.checks, 0) as checks,
    coalesce(counts.passed, 0) as passed,
    coalesce(counts.warned, 0) as warned,
    coalesce(counts.failed, 0) as failed,
    round(counts.passed::numeric / nullif(counts.checks, 0), 4) as pass_share
from days
cross join quality.report_dimensions as dims
left join counts
    on
        days.day = counts.day
        and days.source = counts.source
        and dims.dimension = counts.dimension;

-- The same per table (only the dimensions a table has checks of).
create view quality.report_table_daily as
select
    report_results.day,
    report_results.source,
    report_results.table_name,
    report_results.dimension,
    count(*) as checks,
    count(*) filter (where report_results.status in ('pass', 'warn')) as passed,
    count(*) filter (where report_results.status in ('fail', 'error')) as failed,
    round(
        (count(*) filter (where report_results.status in ('pass', 'warn')))::numeric
        / count(*),
        4
    ) as pass_share
from quality.report_results
group by
    report_results.day, report_results.source, report_results.table_name,
    report_results.dimension;

-- Every check whose latest result (its latest day) is not a pass, with what it saw and
-- what it expected, and since when it has not passed (the first day after its last pass;
-- its first day when it never passed).
create view quality.report_current_failures as
with last_result as (
    select distinct on (report_results.dag_id, report_results.check_name, report_results.target)
        report_results.source,
        report_results.table_name,
        report_results.dimension,
        report_results.dag_id,
        report_results.task_id,
        report_results.check_name,
        report_results.target,
        report_results.status,
        report_results.observed,
        report_results.expected,
        report_results.day,
        report_results.run_id
    from quality.report_results
    order by
        report_results.dag_id asc, report_results.check_name asc, report_results.target asc,
        report_results.day desc, report_results.created_at desc
),

last_pass as (
    select
        report_results.dag_id,
        report_results.check_name,
        report_results.target,
        max(report_results.day) as day
    from quality.report_results
    where report_results.status = 'pass'
    group by report_results.dag_id, report_results.check_name, report_results.target
)

select
    last_result.source,
    last_result.table_name,
    last_result.dimension,
    last_result.dag_id,
    last_result.task_id,
    last_result.check_name,
    last_result.target,
    last_result.status,
    last_result.observed,
    last_result.expected,
    last_result.day,
    last_result.run_id,
    last_pass.day as last_pass_day,
    (
        select min(later.day) as first_day
        from quality.report_results as later
        where
            later.dag_id = last_result.dag_id
            and later.check_name = last_result.check_name
            and later.target = last_result.target
            and later.day > coalesce(last_pass.day, '-infinity'::date)
    ) as failing_since
from last_result
left join last_pass
    on
        last_result.dag_id = last_pass.dag_id
        and last_result.check_name = last_pass.check_name
        and last_result.target = last_pass.target
where last_result.status <> 'pass';

-- Each check's result day by day (the report's trend strips), with the observed value as a
-- number where it is one.
create view quality.report_check_trend as
select
    report_results.source,
    report_results.table_name,
    report_results.dimension,
    report_results.dag_id,
    report_results.check_name,
    report_results.target,
    report_results.day,
    report_results.status,
    report_results.observed,
    case
        when report_results.observed ~ '^-?[0-9]+(\.[0-9]+)?$'
            then report_results.observed::numeric
    end as observed_number
from quality.report_results;

-- Per source: the last day it was checked, the last day every one of its checks passed
-- (warnings allowed), and how many days that is behind the last checked day.
create view quality.report_last_good_day as
with per_day as (
    select
        report_results.source,
        report_results.day,
        bool_and(report_results.status in ('pass', 'warn')) as all_passed
    from quality.report_results
    group by report_results.source, report_results.day
)

select
    per_day.source,
    max(per_day.day) as last_checked_day,
    max(per_day.day) filter (where per_day.all_passed) as last_good_day,
    max(per_day.day) - max(per_day.day) filter (where per_day.all_passed) as days_behind
from per_day
group by per_day.source;
