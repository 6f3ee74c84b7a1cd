-- The leads store: the last good answer of amoCRM to each user's leads/pipelines query,
-- shared by every worker and host. Keyed by the app user and the SHA-256 of the canonical
-- query (the query itself is never stored); the answer is AES-256-GCM ciphertext under
-- TOKEN_ENCRYPTION_KEY (AAD "<user>|<kind>|<key hash hex>"), never plaintext.
-- A row is also the single-flight record of its query: `lease_*` marks a fetch from amoCRM
-- in flight (claimed by one request; identical requests wait for it), `done_*` the outcome
-- of the last fetch (its lease token, and the error code when it failed).
CREATE TABLE amo_response_store (
  user_id          text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
  kind             text NOT NULL CHECK (kind IN ('leads', 'pipelines')),
  key_hash         bytea NOT NULL CHECK (length(key_hash) = 32),
  account_id       bigint,          -- the amoCRM account the answer was read from
  body_enc         bytea,           -- nonce || ciphertext || tag; NULL until a fetch succeeded
  key_id           text,            -- which TOKEN_ENCRYPTION_KEY encrypted body_enc
  fetched_at       timestamptz,     -- when amoCRM gave this answer (database clock)
  written_at       timestamptz NOT NULL DEFAULT now(),  -- last claim or fill: eviction order
  lease_token      bytea,           -- the fetch in flight, if any
  lease_until      timestamptz,     -- after this the lease is dead (its holder crashed)
  done_token       bytea,           -- the lease token of the last finished fetch
  done_fail_code   text,            -- NULL: that fetch succeeded; else its error code
  done_retry_after integer,
  PRIMARY KEY (user_id, kind, key_hash),
  CHECK ((body_enc IS NULL) = (key_id IS NULL)),
  CHECK ((body_enc IS NULL) = (fetched_at IS NULL))
);
CREATE INDEX amo_response_store_written_idx ON amo_response_store (written_at);
