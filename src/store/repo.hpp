#pragma once
// Every SQL statement of the service lives in repo.cpp: prepared once per connection,
// called by name. Functions take a transaction so callers decide its scope.
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace amo::store {

class Pool;

// A round trip that touches nothing (readiness checks).
void ping(pqxx::transaction_base& tx);

// Registers every prepared statement and the session's timeouts on a new connection.
void prepare_connection(pqxx::connection& c);

struct ConnectionRow {
  std::string user_id;
  std::optional<int64_t> account_id;
  std::string domain;
  std::optional<std::string> account_name;
  std::optional<std::string> access_enc;   // raw blob
  std::optional<std::string> refresh_enc;  // raw blob
  std::optional<std::string> key_id;
  std::optional<int64_t> expires_at;       // unix seconds
  std::optional<int64_t> last_refresh_at;  // unix seconds
  bool needs_reauth = false;
  int64_t token_version = 0;
  bool has_tokens() const { return access_enc.has_value() && refresh_enc.has_value(); }
};

struct TokenWrite {
  std::string access_enc, refresh_enc, key_id;
  int64_t expires_at = 0;  // unix seconds
};

// What GET /status shows, without reading the token material.
struct StatusRow {
  std::optional<int64_t> account_id;
  std::string domain;
  std::optional<std::string> account_name;
  bool has_tokens = false;
  bool needs_reauth = false;
  std::optional<int64_t> expires_at, last_refresh_at;
};
std::optional<StatusRow> get_status(pqxx::transaction_base& tx, const std::string& user_id);

// `amo-connect connections list`: connections in user order, without token material.
struct ConnectionSummary {
  std::string user_id;
  StatusRow status;
};
struct ConnectionFilter {
  bool needs_reauth_only = false;
  std::optional<std::string> domain;  // normalized host
  std::optional<int> stale_days;      // last refresh older than this many days (or never)
};
// At most `limit` rows.
std::vector<ConnectionSummary> list_connections(pqxx::transaction_base& tx,
                                                const ConnectionFilter& filter, int64_t limit);

// Rows of the audit log (never a secret by contract).
struct AuditRow {
  int64_t at = 0;  // unix seconds
  std::string event;
  std::optional<int64_t> account_id;
  std::string detail_json;
};
// The user's last `limit` events, newest first.
std::vector<AuditRow> audit_of_user(pqxx::transaction_base& tx, const std::string& user_id,
                                    int64_t limit);
// The user's newest event that records a failure (a rejected refresh, a failed code
// exchange, an account not allowed).
std::optional<AuditRow> last_failure_of_user(pqxx::transaction_base& tx,
                                             const std::string& user_id);

std::optional<ConnectionRow> get_connection(pqxx::transaction_base& tx, const std::string& user_id);
// Row lock without waiting: nullopt when another transaction holds it (`locked` set) or
// when there is no row (`locked` false).
std::optional<ConnectionRow> lock_connection_nowait(pqxx::transaction_base& tx,
                                                    const std::string& user_id, bool& locked);
// Stores a freshly authorized connection (insert or replace), clearing needs_reauth.
void upsert_connection(pqxx::transaction_base& tx, const std::string& user_id, int64_t account_id,
                       const std::string& domain, const std::optional<std::string>& account_name,
                       const TokenWrite& t, const std::string& code_hash);
// Conditional write after a refresh: true when the row still had `expected_version`.
bool update_tokens(pqxx::transaction_base& tx, const std::string& user_id, int64_t expected_version,
                   const TokenWrite& t);
bool mark_needs_reauth(pqxx::transaction_base& tx, const std::string& user_id,
                       int64_t expected_version);
bool delete_connection(pqxx::transaction_base& tx, const std::string& user_id);
// Removes every connection to the account; returns the user ids removed.
std::vector<std::string> delete_account_connections(pqxx::transaction_base& tx, int64_t account_id);
// The users connected to the account.
std::vector<std::string> account_connections(pqxx::transaction_base& tx, int64_t account_id);
// The user whose connection last redeemed this code, if any.
std::optional<ConnectionRow> find_by_code(pqxx::transaction_base& tx, const std::string& code_hash);
// Users whose last refresh is older than `days` (and not awaiting re-authorization).
std::vector<std::string> due_for_refresh(pqxx::transaction_base& tx, int days);
// All rows with tokens not encrypted under `key_id` (for rotate-keys).
std::vector<ConnectionRow> rows_not_under_key(pqxx::transaction_base& tx, const std::string& key_id,
                                              int limit);
bool rewrap_tokens(pqxx::transaction_base& tx, const std::string& user_id, int64_t expected_version,
                   const std::string& access_enc, const std::string& refresh_enc,
                   const std::string& key_id);

struct StateRow {
  std::string user_id;
  std::string purpose;
  bool consumed = false;
  bool expired = false;
  std::optional<std::string> code_hash;
  int64_t expires_at = 0;
  bool failed = false;  // its code was refused for good (rejected, account not allowed)
};
// Returns the expiry (unix seconds).
int64_t insert_state(pqxx::transaction_base& tx, const std::string& state_hash,
                     const std::string& user_id, const std::string& purpose, int ttl_s);
std::optional<StateRow> get_state(pqxx::transaction_base& tx, const std::string& state_hash);
// Atomically consumes an unexpired, unconsumed state (of `only_user` when given) for
// `code_hash`; returns its row when it did.
std::optional<StateRow> consume_state(pqxx::transaction_base& tx, const std::string& state_hash,
                                      const std::string& code_hash,
                                      const std::optional<std::string>& only_user = std::nullopt);
// Gives a state back after a transient failure (only if still consumed by that code).
void release_state(pqxx::transaction_base& tx, const std::string& state_hash,
                   const std::string& code_hash);
// Marks a state consumed by `code_hash` as failed for good (never given back).
void fail_state(pqxx::transaction_base& tx, const std::string& state_hash,
                const std::string& code_hash);
int purge_expired_states(pqxx::transaction_base& tx);

// Pacing: reserves the next slot of `bucket`, one every `step_ms`. Returns how long the
// caller must wait (ms) before using it, or nullopt (and reserves nothing) when the wait
// would exceed `max_wait_ms`.
std::optional<int64_t> reserve_slot(pqxx::transaction_base& tx, const std::string& bucket,
                                    int64_t step_ms, int64_t max_wait_ms);
// Once per window: 0 when allowed (and recorded), else seconds until allowed.
int64_t take_once(pqxx::transaction_base& tx, const std::string& bucket, int window_s);
// Gives back a window taken by take_once (when the guarded action did not happen).
void release_once(pqxx::transaction_base& tx, const std::string& bucket);

// ---- The leads store (amo/response_store): one row per (user, kind, key hash). Every
// write that can create a row, and every clear, first takes the user's transaction-scoped
// advisory lock, so a fetch that began under a connection cannot write after that
// connection was removed or replaced. Hashes and ciphertext are raw bytes.
struct StoredEntry {
  std::optional<int64_t> account_id;
  std::optional<std::string> body_enc, key_id;  // both or neither
  int64_t fetched_at = 0;                       // unix seconds (0 without a body)
  double age_s = 0;                             // since fetched_at, database clock
  bool leased = false;                          // a fetch is in flight
  std::optional<std::string> lease_token, done_token, done_fail_code;
  std::optional<int> done_retry_after;
};
// What a leads request sees in one read: the user's connection and its stored entry.
struct StoreView {
  bool has_tokens = false;
  bool needs_reauth = false;
  std::optional<int64_t> account_id;
  std::optional<std::string> generation;  // the connection's last code hash: new per connection
  std::optional<StoredEntry> entry;
};
// nullopt: the user has no connection row.
std::optional<StoreView> read_store(pqxx::transaction_base& tx, const std::string& user_id,
                                    const std::string& kind, const std::string& key_hash);
// Claims the entry's fetch (creating an empty entry when there is none) for `lease_ms`,
// unless another live lease holds it or the connection is no longer `generation`.
// nullopt: not claimed; else whether the entry was created.
std::optional<bool> claim_store_entry(pqxx::transaction_base& tx, const std::string& user_id,
                                      const std::string& kind, const std::string& key_hash,
                                      const std::optional<std::string>& generation,
                                      const std::string& lease_token, int64_t lease_ms);
struct StoreFill {
  int64_t fetched_at = 0;  // unix seconds, database clock
  bool inserted = false;   // a new entry (not a replaced one)
};
// Stores a fetched answer (ends `lease_token`'s lease); nullopt when the connection is no
// longer `generation` (disconnected, reconnected, needs re-authorization).
std::optional<StoreFill> fill_store_entry(pqxx::transaction_base& tx, const std::string& user_id,
                                          const std::string& kind, const std::string& key_hash,
                                          const std::optional<std::string>& generation,
                                          const std::string& lease_token,
                                          const std::string& body_enc, const std::string& key_id);
// Ends a lease: with `fail_code` the waiters of that fetch adopt its outcome; without,
// they look again (and may fetch themselves).
void end_store_lease(pqxx::transaction_base& tx, const std::string& user_id,
                     const std::string& kind, const std::string& key_hash,
                     const std::string& lease_token, const std::optional<std::string>& fail_code,
                     const std::optional<int>& retry_after);
struct StoreLease {
  bool leased = false;
  std::optional<std::string> lease_token;
};
std::optional<StoreLease> poll_store_lease(pqxx::transaction_base& tx, const std::string& user_id,
                                           const std::string& kind, const std::string& key_hash);
struct StoreEntryAge {
  std::string kind, key_hash;
  double age_s = 0;  // since it was last written
  bool leased = false;
};
std::vector<StoreEntryAge> store_entries_of(pqxx::transaction_base& tx, const std::string& user_id);
void delete_store_entry(pqxx::transaction_base& tx, const std::string& user_id,
                        const std::string& kind, const std::string& key_hash);
// Removes every stored answer of the user (disconnect, hook, reconnect, re-authorization).
size_t clear_user_store(pqxx::transaction_base& tx, const std::string& user_id);
size_t purge_store_older_than(pqxx::transaction_base& tx, int max_age_s);
int64_t count_store_entries(pqxx::transaction_base& tx);
// Removes up to `n` of the oldest entries (skipping rows another transaction holds).
size_t evict_oldest_store_entries(pqxx::transaction_base& tx, int64_t n);
// Removes stored answers encrypted under another key than `key_id` (rotate-keys).
size_t delete_store_not_under_key(pqxx::transaction_base& tx, const std::string& key_id);

// One finished run of a CLI job (`refresh-due`): the serving processes export it.
struct JobRun {
  std::string job;
  double started_at = 0;  // unix seconds
  bool ok = false;        // the run's exit status is 0
  int64_t due = 0, refreshed = 0, reauth = 0, failed = 0;
};
// The last step of a CLI command: takes the pool and writes the row on its own.
void record_job_run(Pool& pool, const JobRun& run);

// What /metrics reads from the database at every scrape: one round trip on indexes,
// under a 2 s statement timeout. Timestamps are unix seconds.
struct ScrapeGauges {
  int64_t needs_reauth = 0;             // connections awaiting re-authorization
  std::optional<int64_t> last_success;  // end of the job's last run with ok
  std::optional<int64_t> last_run;      // end of its last run, and that run's counts
  int64_t last_due = 0, last_refreshed = 0, last_reauth = 0, last_failed = 0;
};
ScrapeGauges scrape_gauges(pqxx::transaction_base& tx, const std::string& job);

void audit(pqxx::transaction_base& tx, const std::string& event,
           const std::optional<std::string>& user_id, const std::optional<int64_t>& account_id,
           const std::string& detail_json = "{}");

}  // namespace amo::store
