-- Host names are case-insensitive: they are stored in their normalized (lower-case) form,
-- so one account has one name and one pacing bucket. Rows written before normalization
-- are folded here; pacing buckets of the old spellings are dropped (they only hold a
-- next-slot time and are recreated on the next request).
UPDATE amo_connection SET domain = lower(domain) WHERE domain <> lower(domain);
DELETE FROM amo_rate_limit WHERE bucket LIKE 'amo:%' AND bucket <> lower(bucket);
ALTER TABLE amo_connection ADD CONSTRAINT amo_connection_domain_lower CHECK (domain = lower(domain));

-- A state whose code was refused for good (amoCRM rejected it, or the account is not
-- allowed) is marked failed: a reload or a concurrent request sees the outcome at once
-- instead of waiting for a redemption that will never finish.
ALTER TABLE amo_oauth_state ADD COLUMN failed_at timestamptz;
