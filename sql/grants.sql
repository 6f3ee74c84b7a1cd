-- Least-privilege grants for the running service's role. Apply as the database owner
-- after `amo-connect migrate` (the role must exist: CREATE ROLE amo_connect LOGIN ...):
--   psql "$OWNER_URL" -v ON_ERROR_STOP=1 -v role=amo_connect -f grants.sql
-- The service role can read and write rows; it cannot create, alter or drop anything,
-- and it can only append to the audit log and to the job-run records.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON amo_connection, amo_oauth_state, amo_rate_limit TO :"role";
GRANT SELECT, INSERT ON amo_audit_log TO :"role";
GRANT USAGE ON SEQUENCE amo_audit_log_id_seq TO :"role";
GRANT SELECT, INSERT ON amo_job_run TO :"role";
GRANT USAGE ON SEQUENCE amo_job_run_id_seq TO :"role";
GRANT SELECT ON amo_schema_migrations TO :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON amo_response_store TO :"role";
