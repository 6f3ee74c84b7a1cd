#include "store/repo.hpp"

#include "crypto/crypto.hpp"
#include "store/pool.hpp"

namespace amo::store {

namespace {

constexpr const char* kConnCols =
    "user_id, account_id, domain, account_name, encode(access_token_enc, 'hex'), "
    "encode(refresh_token_enc, 'hex'), key_id, extract(epoch from expires_at)::bigint, "
    "extract(epoch from last_refresh_at)::bigint, needs_reauth, token_version";

struct Stmt {
  const char* name;
  std::string sql;
};

const std::vector<Stmt>& statements() {
  static const std::vector<Stmt> kStatements = {
      {"conn_status",
       "SELECT account_id, domain, account_name, access_token_enc IS NOT NULL, needs_reauth, "
       "extract(epoch from expires_at)::bigint, extract(epoch from last_refresh_at)::bigint "
       "FROM amo_connection WHERE user_id = $1"},
      // The same columns as conn_status (no token material), for `connections list`.
      {"conn_list",
       "SELECT user_id, account_id, domain, account_name, access_token_enc IS NOT NULL, "
       "needs_reauth, extract(epoch from expires_at)::bigint, "
       "extract(epoch from last_refresh_at)::bigint FROM amo_connection "
       "WHERE (NOT $1::bool OR needs_reauth) AND ($2::text IS NULL OR domain = $2::text) "
       "AND ($3::int IS NULL OR last_refresh_at IS NULL "
       "OR last_refresh_at < now() - make_interval(days => $3::int)) "
       "ORDER BY user_id LIMIT $4"},
      {"conn_get", std::string("SELECT ") + kConnCols + " FROM amo_connection WHERE user_id = $1"},
      {"conn_lock_nowait", std::string("SELECT ") + kConnCols +
                               " FROM amo_connection WHERE user_id = $1 FOR UPDATE NOWAIT"},
      {"conn_upsert",
       "INSERT INTO amo_connection (user_id, account_id, domain, account_name, access_token_enc, "
       "refresh_token_enc, key_id, expires_at, last_refresh_at, needs_reauth, last_code_hash) "
       "VALUES ($1, $2, $3, $4, decode($5, 'hex'), decode($6, 'hex'), $7, to_timestamp($8), now(), "
       "false, decode($9, 'hex')) "
       "ON CONFLICT (user_id) DO UPDATE SET account_id = EXCLUDED.account_id, domain = "
       "EXCLUDED.domain, "
       "account_name = EXCLUDED.account_name, access_token_enc = EXCLUDED.access_token_enc, "
       "refresh_token_enc = EXCLUDED.refresh_token_enc, key_id = EXCLUDED.key_id, "
       "expires_at = EXCLUDED.expires_at, last_refresh_at = now(), needs_reauth = false, "
       "last_code_hash = EXCLUDED.last_code_hash, token_version = amo_connection.token_version + "
       "1, "
       "updated_at = now()"},
      {"conn_update_tokens",
       "UPDATE amo_connection SET access_token_enc = decode($3, 'hex'), refresh_token_enc = "
       "decode($4, 'hex'), key_id = $5, expires_at = to_timestamp($6), last_refresh_at = now(), "
       "needs_reauth = false, token_version = token_version + 1, updated_at = now() "
       "WHERE user_id = $1 AND token_version = $2"},
      {"conn_mark_reauth",
       "UPDATE amo_connection SET needs_reauth = true, token_version = token_version + 1, "
       "updated_at = now() WHERE user_id = $1 AND token_version = $2"},
      {"conn_delete", "DELETE FROM amo_connection WHERE user_id = $1"},
      {"conn_delete_account", "DELETE FROM amo_connection WHERE account_id = $1 RETURNING user_id"},
      {"conn_of_account",
       "SELECT user_id FROM amo_connection WHERE account_id = $1 ORDER BY user_id"},
      {"conn_by_code", std::string("SELECT ") + kConnCols +
                           " FROM amo_connection WHERE last_code_hash = decode($1, 'hex')"},
      {"conn_due",
       "SELECT user_id FROM amo_connection WHERE refresh_token_enc IS NOT NULL AND NOT "
       "needs_reauth "
       "AND (last_refresh_at IS NULL OR last_refresh_at < now() - make_interval(days => $1::int)) "
       "ORDER BY last_refresh_at NULLS FIRST"},
      {"conn_not_under_key",
       std::string("SELECT ") + kConnCols +
           " FROM amo_connection WHERE key_id IS NOT NULL AND key_id <> $1 LIMIT $2"},
      {"conn_rewrap",
       "UPDATE amo_connection SET access_token_enc = decode($3, 'hex'), refresh_token_enc = "
       "decode($4, 'hex'), key_id = $5, token_version = token_version + 1, updated_at = now() "
       "WHERE user_id = $1 AND token_version = $2"},
      {"state_insert",
       "INSERT INTO amo_oauth_state (state_hash, user_id, purpose, expires_at) VALUES "
       "(decode($1, 'hex'), $2, $3, now() + make_interval(secs => $4::float8)) "
       "RETURNING extract(epoch from expires_at)::bigint"},
      {"state_get",
       "SELECT user_id, purpose, consumed_at IS NOT NULL, expires_at <= now(), "
       "encode(code_hash, 'hex'), extract(epoch from expires_at)::bigint, failed_at IS NOT NULL "
       "FROM amo_oauth_state WHERE state_hash = decode($1, 'hex')"},
      // The one atomic claim: only an unexpired, unconsumed state (of user $3 when given).
      {"state_consume",
       "UPDATE amo_oauth_state SET consumed_at = now(), code_hash = decode($2, 'hex') "
       "WHERE state_hash = decode($1, 'hex') AND consumed_at IS NULL AND expires_at > now() "
       "AND ($3::text IS NULL OR user_id = $3::text) "
       "RETURNING user_id, purpose, true, false, encode(code_hash, 'hex'), "
       "extract(epoch from expires_at)::bigint, false"},
      {"state_release",
       "UPDATE amo_oauth_state SET consumed_at = NULL, code_hash = NULL "
       "WHERE state_hash = decode($1, 'hex') AND code_hash = decode($2, 'hex') "
       "AND failed_at IS NULL"},
      {"state_fail",
       "UPDATE amo_oauth_state SET failed_at = now() "
       "WHERE state_hash = decode($1, 'hex') AND code_hash = decode($2, 'hex')"},
      {"state_purge", "DELETE FROM amo_oauth_state WHERE expires_at < now() - interval '1 day'"},
      // One slot every $2 ms: the caller may go at GREATEST(next_at, now()); refuse (no
      // change) when that is more than $3 ms away.
      {"rate_reserve",
       "INSERT INTO amo_rate_limit AS r (bucket, next_at) VALUES ($1, clock_timestamp() + "
       "make_interval(secs => $2::float8 / 1000)) "
       "ON CONFLICT (bucket) DO UPDATE SET next_at = GREATEST(r.next_at, clock_timestamp()) + "
       "make_interval(secs => $2::float8 / 1000) "
       "WHERE GREATEST(r.next_at, clock_timestamp()) <= clock_timestamp() + make_interval(secs => "
       "$3::float8 / 1000) "
       "RETURNING GREATEST(0, ceil(extract(epoch from (r.next_at - make_interval(secs => "
       "$2::float8 / 1000) "
       "- clock_timestamp())) * 1000))::bigint"},
      {"rate_wait",
       "SELECT GREATEST(1, ceil(extract(epoch from (next_at - clock_timestamp()))))::bigint "
       "FROM amo_rate_limit WHERE bucket = $1"},
      {"once_take",
       "INSERT INTO amo_rate_limit AS r (bucket, next_at) VALUES ($1, now() + make_interval(secs "
       "=> $2::float8)) "
       "ON CONFLICT (bucket) DO UPDATE SET next_at = now() + make_interval(secs => $2) "
       "WHERE r.next_at <= now() RETURNING 0"},
      {"once_release", "DELETE FROM amo_rate_limit WHERE bucket = $1"},
      // ---- leads store
      {"store_lock", "SELECT pg_advisory_xact_lock(7263004, hashtext($1))"},
      {"store_read",
       "SELECT c.access_token_enc IS NOT NULL, c.needs_reauth, c.account_id, "
       "encode(c.last_code_hash, 'hex'), s.user_id IS NOT NULL, s.account_id, "
       "encode(s.body_enc, 'hex'), s.key_id, "
       "coalesce(floor(extract(epoch from s.fetched_at))::bigint, 0), "
       "coalesce(extract(epoch from clock_timestamp() - s.fetched_at)::float8, 0), "
       "coalesce(s.lease_until > clock_timestamp(), false), encode(s.lease_token, 'hex'), "
       "encode(s.done_token, 'hex'), s.done_fail_code, s.done_retry_after "
       "FROM amo_connection c LEFT JOIN amo_response_store s ON s.user_id = c.user_id "
       "AND s.kind = $2 AND s.key_hash = decode($3, 'hex') WHERE c.user_id = $1"},
      // Rows are only created for the connection the fetch began under ($4: its generation).
      {"store_claim",
       "INSERT INTO amo_response_store AS s (user_id, kind, key_hash, written_at, lease_token, "
       "lease_until) SELECT c.user_id, $2, decode($3, 'hex'), clock_timestamp(), "
       "decode($5, 'hex'), clock_timestamp() + make_interval(secs => $6::float8 / 1000) "
       "FROM amo_connection c WHERE c.user_id = $1 AND NOT c.needs_reauth "
       "AND c.last_code_hash IS NOT DISTINCT FROM decode($4, 'hex') "
       "ON CONFLICT (user_id, kind, key_hash) DO UPDATE SET lease_token = EXCLUDED.lease_token, "
       "lease_until = EXCLUDED.lease_until "
       "WHERE s.lease_until IS NULL OR s.lease_until <= clock_timestamp() RETURNING (xmax = 0)"},
      {"store_fill",
       "INSERT INTO amo_response_store AS s (user_id, kind, key_hash, account_id, body_enc, "
       "key_id, fetched_at, written_at, done_token) "
       "SELECT c.user_id, $2, decode($3, 'hex'), c.account_id, decode($6, 'hex'), $7, "
       "clock_timestamp(), clock_timestamp(), decode($5, 'hex') "
       "FROM amo_connection c WHERE c.user_id = $1 AND NOT c.needs_reauth "
       "AND c.last_code_hash IS NOT DISTINCT FROM decode($4, 'hex') "
       "ON CONFLICT (user_id, kind, key_hash) DO UPDATE SET account_id = EXCLUDED.account_id, "
       "body_enc = EXCLUDED.body_enc, key_id = EXCLUDED.key_id, fetched_at = "
       "EXCLUDED.fetched_at, written_at = EXCLUDED.written_at, done_token = "
       "EXCLUDED.done_token, done_fail_code = NULL, done_retry_after = NULL, "
       "lease_token = CASE WHEN s.lease_token = EXCLUDED.done_token THEN NULL ELSE "
       "s.lease_token END, "
       "lease_until = CASE WHEN s.lease_token = EXCLUDED.done_token THEN NULL ELSE "
       "s.lease_until END "
       "RETURNING floor(extract(epoch from fetched_at))::bigint, (xmax = 0)"},
      {"store_end_lease",
       "UPDATE amo_response_store SET lease_token = NULL, lease_until = NULL, "
       "done_token = CASE WHEN $5::text IS NULL THEN done_token ELSE lease_token END, "
       "done_fail_code = CASE WHEN $5::text IS NULL THEN done_fail_code ELSE $5::text END, "
       "done_retry_after = CASE WHEN $5::text IS NULL THEN done_retry_after ELSE $6::int END "
       "WHERE user_id = $1 AND kind = $2 AND key_hash = decode($3, 'hex') "
       "AND lease_token = decode($4, 'hex')"},
      {"store_poll",
       "SELECT coalesce(lease_until > clock_timestamp(), false), encode(lease_token, 'hex') "
       "FROM amo_response_store WHERE user_id = $1 AND kind = $2 AND key_hash = decode($3, "
       "'hex')"},
      {"store_entries_of",
       "SELECT kind, encode(key_hash, 'hex'), "
       "extract(epoch from clock_timestamp() - written_at)::float8, "
       "coalesce(lease_until > clock_timestamp(), false) "
       "FROM amo_response_store WHERE user_id = $1"},
      {"store_delete",
       "DELETE FROM amo_response_store WHERE user_id = $1 AND kind = $2 AND key_hash = "
       "decode($3, 'hex')"},
      {"store_clear_user", "DELETE FROM amo_response_store WHERE user_id = $1"},
      // Both skip rows another transaction holds: never wait (nor deadlock) on a
      // concurrent write or clear; such rows are being replaced or removed anyway.
      {"store_purge_old",
       "DELETE FROM amo_response_store WHERE (user_id, kind, key_hash) IN (SELECT user_id, "
       "kind, key_hash FROM amo_response_store WHERE written_at < clock_timestamp() - "
       "make_interval(secs => $1::float8) FOR UPDATE SKIP LOCKED)"},
      {"store_count", "SELECT count(*) FROM amo_response_store"},
      {"store_evict_oldest",
       "DELETE FROM amo_response_store WHERE (user_id, kind, key_hash) IN (SELECT user_id, "
       "kind, key_hash FROM amo_response_store ORDER BY written_at LIMIT $1 "
       "FOR UPDATE SKIP LOCKED)"},
      {"store_not_under_key",
       "DELETE FROM amo_response_store WHERE key_id IS NOT NULL AND key_id <> $1"},
      {"job_run_insert",
       "INSERT INTO amo_job_run (job, started_at, ok, due, refreshed, reauth, failed) VALUES "
       "($1, to_timestamp($2::float8), $3, $4, $5, $6, $7)"},
      {"scrape_gauges",
       "SELECT (SELECT count(*) FROM amo_connection WHERE needs_reauth), "
       "(SELECT floor(extract(epoch from max(finished_at)))::bigint FROM amo_job_run "
       "WHERE job = $1 AND ok), "
       "last.finished, last.due, last.refreshed, last.reauth, last.failed FROM (SELECT 1) AS "
       "one LEFT JOIN LATERAL (SELECT floor(extract(epoch from finished_at))::bigint AS "
       "finished, due, refreshed, reauth, failed FROM amo_job_run WHERE job = $1 ORDER BY "
       "finished_at DESC "
       "LIMIT 1) AS last ON true"},
      {"audit_of_user",
       "SELECT extract(epoch from at)::bigint, event, account_id, detail::text "
       "FROM amo_audit_log WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2"},
      {"audit_last_failure",
       "SELECT extract(epoch from at)::bigint, event, account_id, detail::text "
       "FROM amo_audit_log WHERE user_id = $1 "
       "AND event IN ('reauth_required', 'exchange_failed', 'account_not_allowed') "
       "ORDER BY at DESC, id DESC LIMIT 1"},
      {"audit_insert",
       "INSERT INTO amo_audit_log (event, user_id, account_id, detail) VALUES ($1, $2, $3, "
       "$4::jsonb)"},
  };
  return kStatements;
}

std::string unhex(const std::string& h) {
  auto v = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out(h.size() / 2, '\0');
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out[i / 2] = static_cast<char>(v(h[i]) * 16 + v(h[i + 1]));
  return out;
}

template <typename T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

ConnectionRow to_connection(const pqxx::row& r) {
  ConnectionRow c;
  c.user_id = r[0].as<std::string>();
  c.account_id = opt<int64_t>(r[1]);
  c.domain = r[2].as<std::string>();
  c.account_name = opt<std::string>(r[3]);
  if (!r[4].is_null()) c.access_enc = unhex(r[4].as<std::string>());
  if (!r[5].is_null()) c.refresh_enc = unhex(r[5].as<std::string>());
  c.key_id = opt<std::string>(r[6]);
  c.expires_at = opt<int64_t>(r[7]);
  c.last_refresh_at = opt<int64_t>(r[8]);
  c.needs_reauth = r[9].as<bool>();
  c.token_version = r[10].as<int64_t>();
  return c;
}

// The columns of conn_status from `first` on (conn_list has user_id before them).
StatusRow to_status(const pqxx::row& r, int first) {
  StatusRow s;
  s.account_id = opt<int64_t>(r[first]);
  s.domain = r[first + 1].as<std::string>();
  s.account_name = opt<std::string>(r[first + 2]);
  s.has_tokens = r[first + 3].as<bool>();
  s.needs_reauth = r[first + 4].as<bool>();
  s.expires_at = opt<int64_t>(r[first + 5]);
  s.last_refresh_at = opt<int64_t>(r[first + 6]);
  return s;
}

StateRow to_state(const pqxx::row& r) {
  StateRow s;
  s.user_id = r[0].as<std::string>();
  s.purpose = r[1].as<std::string>();
  s.consumed = r[2].as<bool>();
  s.expired = r[3].as<bool>();
  if (!r[4].is_null()) s.code_hash = unhex(r[4].as<std::string>());
  s.expires_at = r[5].as<int64_t>();
  s.failed = r[6].as<bool>();
  return s;
}

std::string hx(const std::string& raw) { return crypto::hex(raw); }

}  // namespace

void ping(pqxx::transaction_base& tx) { tx.exec("SELECT 1"); }

void prepare_connection(pqxx::connection& c) {
  {
    pqxx::nontransaction tx(c);
    tx.exec(
        "SET statement_timeout = '10s'; SET lock_timeout = '5s'; "
        "SET idle_in_transaction_session_timeout = '60s'; SET TIME ZONE 'UTC'");
  }
  for (auto& s : statements()) c.prepare(s.name, s.sql);
}

std::optional<StatusRow> get_status(pqxx::transaction_base& tx, const std::string& user_id) {
  auto r = tx.exec_prepared("conn_status", user_id);
  if (r.empty()) return std::nullopt;
  return to_status(r[0], 0);
}

std::vector<ConnectionSummary> list_connections(pqxx::transaction_base& tx,
                                                const ConnectionFilter& filter, int64_t limit) {
  std::vector<ConnectionSummary> out;
  for (auto row : tx.exec_prepared("conn_list", filter.needs_reauth_only, filter.domain,
                                   filter.stale_days, limit)) {
    out.push_back(ConnectionSummary{row[0].as<std::string>(), to_status(row, 1)});
  }
  return out;
}

namespace {
AuditRow to_audit(const pqxx::row& r) {
  return AuditRow{r[0].as<int64_t>(), r[1].as<std::string>(), opt<int64_t>(r[2]),
                  r[3].as<std::string>()};
}
}  // namespace

std::vector<AuditRow> audit_of_user(pqxx::transaction_base& tx, const std::string& user_id,
                                    int64_t limit) {
  std::vector<AuditRow> out;
  for (auto row : tx.exec_prepared("audit_of_user", user_id, limit)) out.push_back(to_audit(row));
  return out;
}

std::optional<AuditRow> last_failure_of_user(pqxx::transaction_base& tx,
                                             const std::string& user_id) {
  auto r = tx.exec_prepared("audit_last_failure", user_id);
  if (r.empty()) return std::nullopt;
  return to_audit(r[0]);
}

std::optional<ConnectionRow> get_connection(pqxx::transaction_base& tx,
                                            const std::string& user_id) {
  auto r = tx.exec_prepared("conn_get", user_id);
  if (r.empty()) return std::nullopt;
  return to_connection(r[0]);
}

std::optional<ConnectionRow> lock_connection_nowait(pqxx::transaction_base& tx,
                                                    const std::string& user_id, bool& locked) {
  locked = false;
  try {
    auto r = tx.exec_prepared("conn_lock_nowait", user_id);
    if (r.empty()) return std::nullopt;
    return to_connection(r[0]);
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "55P03") {  // lock_not_available
      locked = true;
      return std::nullopt;
    }
    throw;
  }
}

void upsert_connection(pqxx::transaction_base& tx, const std::string& user_id, int64_t account_id,
                       const std::string& domain, const std::optional<std::string>& account_name,
                       const TokenWrite& t, const std::string& code_hash) {
  tx.exec_prepared("conn_upsert", user_id, account_id, domain, account_name, hx(t.access_enc),
                   hx(t.refresh_enc), t.key_id, t.expires_at, hx(code_hash));
}

bool update_tokens(pqxx::transaction_base& tx, const std::string& user_id, int64_t expected_version,
                   const TokenWrite& t) {
  return tx.exec_prepared("conn_update_tokens", user_id, expected_version, hx(t.access_enc),
                          hx(t.refresh_enc), t.key_id, t.expires_at)
             .affected_rows() == 1;
}

bool mark_needs_reauth(pqxx::transaction_base& tx, const std::string& user_id,
                       int64_t expected_version) {
  return tx.exec_prepared("conn_mark_reauth", user_id, expected_version).affected_rows() == 1;
}

bool delete_connection(pqxx::transaction_base& tx, const std::string& user_id) {
  return tx.exec_prepared("conn_delete", user_id).affected_rows() > 0;
}

std::vector<std::string> delete_account_connections(pqxx::transaction_base& tx,
                                                    int64_t account_id) {
  std::vector<std::string> out;
  for (auto row : tx.exec_prepared("conn_delete_account", account_id))
    out.push_back(row[0].as<std::string>());
  return out;
}

std::vector<std::string> account_connections(pqxx::transaction_base& tx, int64_t account_id) {
  std::vector<std::string> out;
  for (auto row : tx.exec_prepared("conn_of_account", account_id))
    out.push_back(row[0].as<std::string>());
  return out;
}

std::optional<ConnectionRow> find_by_code(pqxx::transaction_base& tx,
                                          const std::string& code_hash) {
  auto r = tx.exec_prepared("conn_by_code", hx(code_hash));
  if (r.empty()) return std::nullopt;
  return to_connection(r[0]);
}

std::vector<std::string> due_for_refresh(pqxx::transaction_base& tx, int days) {
  std::vector<std::string> out;
  for (auto row : tx.exec_prepared("conn_due", days)) out.push_back(row[0].as<std::string>());
  return out;
}

std::vector<ConnectionRow> rows_not_under_key(pqxx::transaction_base& tx, const std::string& key_id,
                                              int limit) {
  std::vector<ConnectionRow> out;
  for (auto row : tx.exec_prepared("conn_not_under_key", key_id, limit))
    out.push_back(to_connection(row));
  return out;
}

bool rewrap_tokens(pqxx::transaction_base& tx, const std::string& user_id, int64_t expected_version,
                   const std::string& access_enc, const std::string& refresh_enc,
                   const std::string& key_id) {
  return tx.exec_prepared("conn_rewrap", user_id, expected_version, hx(access_enc), hx(refresh_enc),
                          key_id)
             .affected_rows() == 1;
}

int64_t insert_state(pqxx::transaction_base& tx, const std::string& state_hash,
                     const std::string& user_id, const std::string& purpose, int ttl_s) {
  return tx.exec_prepared1("state_insert", hx(state_hash), user_id, purpose, ttl_s)[0]
      .as<int64_t>();
}

std::optional<StateRow> get_state(pqxx::transaction_base& tx, const std::string& state_hash) {
  auto r = tx.exec_prepared("state_get", hx(state_hash));
  if (r.empty()) return std::nullopt;
  return to_state(r[0]);
}

std::optional<StateRow> consume_state(pqxx::transaction_base& tx, const std::string& state_hash,
                                      const std::string& code_hash,
                                      const std::optional<std::string>& only_user) {
  auto r = tx.exec_prepared("state_consume", hx(state_hash), hx(code_hash), only_user);
  if (r.empty()) return std::nullopt;
  return to_state(r[0]);
}

void release_state(pqxx::transaction_base& tx, const std::string& state_hash,
                   const std::string& code_hash) {
  tx.exec_prepared("state_release", hx(state_hash), hx(code_hash));
}

void fail_state(pqxx::transaction_base& tx, const std::string& state_hash,
                const std::string& code_hash) {
  tx.exec_prepared("state_fail", hx(state_hash), hx(code_hash));
}

int purge_expired_states(pqxx::transaction_base& tx) {
  return static_cast<int>(tx.exec_prepared("state_purge").affected_rows());
}

std::optional<int64_t> reserve_slot(pqxx::transaction_base& tx, const std::string& bucket,
                                    int64_t step_ms, int64_t max_wait_ms) {
  auto r = tx.exec_prepared("rate_reserve", bucket, step_ms, max_wait_ms);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int64_t>();
}

int64_t take_once(pqxx::transaction_base& tx, const std::string& bucket, int window_s) {
  auto r = tx.exec_prepared("once_take", bucket, window_s);
  if (!r.empty()) return 0;
  auto w = tx.exec_prepared("rate_wait", bucket);
  return w.empty() ? 1 : w[0][0].as<int64_t>();
}

void release_once(pqxx::transaction_base& tx, const std::string& bucket) {
  tx.exec_prepared("once_release", bucket);
}

namespace {
std::optional<std::string> opt_unhex(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return unhex(f.as<std::string>());
}
std::optional<std::string> opt_hx(const std::optional<std::string>& raw) {
  if (!raw) return std::nullopt;
  return hx(*raw);
}
void lock_user_store(pqxx::transaction_base& tx, const std::string& user_id) {
  tx.exec_prepared("store_lock", user_id);
}
}  // namespace

std::optional<StoreView> read_store(pqxx::transaction_base& tx, const std::string& user_id,
                                    const std::string& kind, const std::string& key_hash) {
  auto r = tx.exec_prepared("store_read", user_id, kind, hx(key_hash));
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  StoreView v;
  v.has_tokens = row[0].as<bool>();
  v.needs_reauth = row[1].as<bool>();
  v.account_id = opt<int64_t>(row[2]);
  v.generation = opt_unhex(row[3]);
  if (row[4].as<bool>()) {
    StoredEntry e;
    e.account_id = opt<int64_t>(row[5]);
    e.body_enc = opt_unhex(row[6]);
    e.key_id = opt<std::string>(row[7]);
    e.fetched_at = row[8].as<int64_t>();
    e.age_s = row[9].as<double>();
    e.leased = row[10].as<bool>();
    e.lease_token = opt_unhex(row[11]);
    e.done_token = opt_unhex(row[12]);
    e.done_fail_code = opt<std::string>(row[13]);
    e.done_retry_after = opt<int>(row[14]);
    v.entry = std::move(e);
  }
  return v;
}

std::optional<bool> claim_store_entry(pqxx::transaction_base& tx, const std::string& user_id,
                                      const std::string& kind, const std::string& key_hash,
                                      const std::optional<std::string>& generation,
                                      const std::string& lease_token, int64_t lease_ms) {
  lock_user_store(tx, user_id);
  auto r = tx.exec_prepared("store_claim", user_id, kind, hx(key_hash), opt_hx(generation),
                            hx(lease_token), lease_ms);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<bool>();
}

std::optional<StoreFill> fill_store_entry(pqxx::transaction_base& tx, const std::string& user_id,
                                          const std::string& kind, const std::string& key_hash,
                                          const std::optional<std::string>& generation,
                                          const std::string& lease_token,
                                          const std::string& body_enc, const std::string& key_id) {
  lock_user_store(tx, user_id);
  auto r = tx.exec_prepared("store_fill", user_id, kind, hx(key_hash), opt_hx(generation),
                            hx(lease_token), hx(body_enc), key_id);
  if (r.empty()) return std::nullopt;
  return StoreFill{r[0][0].as<int64_t>(), r[0][1].as<bool>()};
}

void end_store_lease(pqxx::transaction_base& tx, const std::string& user_id,
                     const std::string& kind, const std::string& key_hash,
                     const std::string& lease_token, const std::optional<std::string>& fail_code,
                     const std::optional<int>& retry_after) {
  tx.exec_prepared("store_end_lease", user_id, kind, hx(key_hash), hx(lease_token), fail_code,
                   retry_after);
}

std::optional<StoreLease> poll_store_lease(pqxx::transaction_base& tx, const std::string& user_id,
                                           const std::string& kind, const std::string& key_hash) {
  auto r = tx.exec_prepared("store_poll", user_id, kind, hx(key_hash));
  if (r.empty()) return std::nullopt;
  return StoreLease{r[0][0].as<bool>(), opt_unhex(r[0][1])};
}

std::vector<StoreEntryAge> store_entries_of(pqxx::transaction_base& tx,
                                            const std::string& user_id) {
  std::vector<StoreEntryAge> out;
  for (auto row : tx.exec_prepared("store_entries_of", user_id))
    out.push_back(StoreEntryAge{row[0].as<std::string>(), unhex(row[1].as<std::string>()),
                                row[2].as<double>(), row[3].as<bool>()});
  return out;
}

void delete_store_entry(pqxx::transaction_base& tx, const std::string& user_id,
                        const std::string& kind, const std::string& key_hash) {
  tx.exec_prepared("store_delete", user_id, kind, hx(key_hash));
}

size_t clear_user_store(pqxx::transaction_base& tx, const std::string& user_id) {
  lock_user_store(tx, user_id);
  return tx.exec_prepared("store_clear_user", user_id).affected_rows();
}

size_t purge_store_older_than(pqxx::transaction_base& tx, int max_age_s) {
  return tx.exec_prepared("store_purge_old", max_age_s).affected_rows();
}

int64_t count_store_entries(pqxx::transaction_base& tx) {
  return tx.exec_prepared1("store_count")[0].as<int64_t>();
}

size_t evict_oldest_store_entries(pqxx::transaction_base& tx, int64_t n) {
  return tx.exec_prepared("store_evict_oldest", n).affected_rows();
}

size_t delete_store_not_under_key(pqxx::transaction_base& tx, const std::string& key_id) {
  return tx.exec_prepared("store_not_under_key", key_id).affected_rows();
}

void record_job_run(Pool& pool, const JobRun& run) {
  pool.with([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);  // one statement
    tx.exec_prepared("job_run_insert", run.job, run.started_at, run.ok, run.due, run.refreshed,
                     run.reauth, run.failed);
  });
}

ScrapeGauges scrape_gauges(pqxx::transaction_base& tx, const std::string& job) {
  tx.exec("SET LOCAL statement_timeout = '2s'");
  auto r = tx.exec_prepared1("scrape_gauges", job);
  ScrapeGauges g;
  g.needs_reauth = r[0].as<int64_t>();
  g.last_success = opt<int64_t>(r[1]);
  g.last_run = opt<int64_t>(r[2]);
  if (g.last_run) {
    g.last_due = r[3].as<int64_t>();
    g.last_refreshed = r[4].as<int64_t>();
    g.last_reauth = r[5].as<int64_t>();
    g.last_failed = r[6].as<int64_t>();
  }
  return g;
}

void audit(pqxx::transaction_base& tx, const std::string& event,
           const std::optional<std::string>& user_id, const std::optional<int64_t>& account_id,
           const std::string& detail_json) {
  tx.exec_prepared("audit_insert", event, user_id, account_id, detail_json);
}

}  // namespace amo::store
