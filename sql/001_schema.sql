-- amo-connect schema: per-user amoCRM connections, single-use OAuth states,
-- shared rate-limit records and an audit log. All shared state lives here.

CREATE TABLE amo_connection (
  user_id           text PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 128),
  account_id        bigint,
  domain            text NOT NULL,
  account_name      text,
  access_token_enc  bytea,          -- AES-256-GCM: nonce || ciphertext || tag
  refresh_token_enc bytea,
  key_id            text,           -- which TOKEN_ENCRYPTION_KEY encrypted the two columns
  expires_at        timestamptz,    -- access token expiry
  last_refresh_at   timestamptz,
  needs_reauth      boolean NOT NULL DEFAULT false,
  last_code_hash    bytea,          -- SHA-256 of the last authorization code redeemed
  token_version     bigint NOT NULL DEFAULT 0,  -- bumped on every token write (conditional writes)
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK ((access_token_enc IS NULL) = (refresh_token_enc IS NULL)),
  CHECK ((access_token_enc IS NULL) = (key_id IS NULL))
);
CREATE INDEX amo_connection_account_idx ON amo_connection (account_id);
CREATE INDEX amo_connection_code_idx ON amo_connection (last_code_hash) WHERE last_code_hash IS NOT NULL;
CREATE INDEX amo_connection_refresh_idx ON amo_connection (last_refresh_at)
  WHERE refresh_token_enc IS NOT NULL AND NOT needs_reauth;

CREATE TABLE amo_oauth_state (
  state_hash   bytea PRIMARY KEY,   -- SHA-256 of the state; the state itself is never stored
  user_id      text NOT NULL,
  purpose      text NOT NULL DEFAULT 'oauth' CHECK (purpose IN ('oauth', 'api_key')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  consumed_at  timestamptz,
  code_hash    bytea                -- the code that consumed it (idempotent reload)
);
CREATE INDEX amo_oauth_state_expires_idx ON amo_oauth_state (expires_at);

-- Pacing and once-per-window limits shared by every worker and host.
CREATE TABLE amo_rate_limit (
  bucket   text PRIMARY KEY,        -- 'amo:<account>' or 'apikey:user:<id>' / 'apikey:login:<sha>'
  next_at  timestamptz NOT NULL
);

CREATE TABLE amo_audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  event       text NOT NULL,        -- connect, disconnect, hook_disconnect, exchange_failed, ...
  user_id     text,
  account_id  bigint,
  detail      jsonb NOT NULL DEFAULT '{}'::jsonb   -- never a secret, code or token
);
CREATE INDEX amo_audit_log_user_idx ON amo_audit_log (user_id, at);
