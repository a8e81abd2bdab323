-- Airflow's metadata database: only its owner (the compose POSTGRES_USER) connects; the
-- pipeline and analyst roles have no business there.
do $$
begin
    execute format('revoke all on database %I from public', current_database());
end
$$;
