-- The local warehouse (connection warehouse_db): the staging load and dbt run as
-- elt_pipeline and create staging, stg, snapshots, marts and analytics; analysts
-- (elt_analyst) read the marts and nothing else.
revoke all on database warehouse from public;
grant connect, temporary, create on database warehouse to elt_pipeline;
grant connect on database warehouse to elt_analyst;

-- marts exists before dbt's first build, so the analysts' grants hold from the start and
-- every table dbt (re)creates there is readable by them (default privileges of the role
-- that creates it).
create schema if not exists marts authorization elt_pipeline;
grant usage on schema marts to elt_analyst;
grant select on all tables in schema marts to elt_analyst;
alter default privileges for role elt_pipeline in schema marts
grant select on tables to elt_analyst;
