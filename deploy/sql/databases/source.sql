-- The OLTP database (connection source_db): raw, oltp, quality, lake, yelp schemas, all
-- created and owned by elt_pipeline when it runs the migrations (python -m include.migrations).
revoke all on database source from public;
grant connect, temporary, create on database source to elt_pipeline;

-- public.schema_migrations, the migrator's own table, lives in public.
grant usage, create on schema public to elt_pipeline;
