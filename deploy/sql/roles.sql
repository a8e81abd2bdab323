-- The pipeline's own roles, cluster-wide (deploy/init.py runs this as the metadata
-- superuser, before the databases' grants). Neither is a superuser, neither can create
-- databases or roles: the DAGs connect as elt_pipeline, analysts as elt_analyst.
do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'elt_pipeline') then
        create role elt_pipeline;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'elt_analyst') then
        create role elt_analyst;
    end if;
end
$$;

-- The passwords arrive as SCRAM verifiers computed by the client: the server, its logs and
-- pg_stat_statements never see them in clear.
alter role elt_pipeline with
login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit
password %(pipeline_password)s;

alter role elt_analyst with
login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit
connection limit 20
password %(analyst_password)s;

-- The lake export bounds a day by the oldest open transaction in pg_stat_activity, whose
-- xact_start a role sees only for its own sessions unless it is a member of this
-- (read-only) role (include/lake/export.py).
grant pg_read_all_stats to elt_pipeline;
