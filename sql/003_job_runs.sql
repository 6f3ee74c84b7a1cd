-- Runs of the CLI's periodic jobs (`refresh-due`, started by its systemd timer in a process
-- of its own), so that the serving processes can export in /metrics when each last
-- succeeded. One row per run: a few hundred rows a year, never pruned automatically.
CREATE TABLE amo_job_run (
  id           bigserial PRIMARY KEY,
  job          text NOT NULL CHECK (length(job) BETWEEN 1 AND 64),
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL DEFAULT now(),
  ok           boolean NOT NULL,     -- the run's exit status was 0
  due          integer NOT NULL,     -- connections the run found due
  refreshed    integer NOT NULL,
  failed       integer NOT NULL
);
CREATE INDEX amo_job_run_job_idx ON amo_job_run (job, finished_at);

-- /metrics counts the connections awaiting re-authorization at every scrape.
CREATE INDEX amo_connection_reauth_idx ON amo_connection (user_id) WHERE needs_reauth;
