-- refresh-due tells apart a connection whose refresh token amoCRM refused (the user must
-- connect again: an expected outcome, not a failed run) from a refresh that failed (amoCRM
-- or the database unavailable: the run failed). Earlier rows counted both as `failed`.
ALTER TABLE amo_job_run ADD COLUMN reauth integer NOT NULL DEFAULT 0;
