#pragma once
// The leads store: the last good answer of amoCRM to each user's leads/pipelines query, in
// PostgreSQL (shared by every worker and host), encrypted like the tokens. It gives
//   - freshness: an answer younger than LEADS_FRESH_S is served without calling amoCRM;
//   - single flight: identical requests of one user make one amoCRM call between them, in
//     any process (a lease on the entry row; the others wait for its outcome);
//   - stale-if-error: when amoCRM is unavailable, times out or rate-limits (or our pacer
//     would wait too long), an answer younger than LEADS_STALE_MAX_S is served with
//     stale=true and the error code as staleReason — never for a user whose connection is
//     gone, needs re-authorization or was replaced (those keep their 409s).
// Entries are per app user (each agent's token sees what their amoCRM rights allow),
// keyed by the SHA-256 of the canonical query, bounded per user and overall, and removed
// with the connection (disconnect, hook, reconnect, re-authorization).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "amo/crm.hpp"
#include "amo/leads.hpp"
#include "core/error.hpp"
#include "core/services.hpp"

namespace amo {
struct Config;
}

namespace amo::amo_api {

// ---- Pure decisions (unit-tested) ----

enum class StoreKind { kLeads, kPipelines };
const char* kind_name(StoreKind k);  // "leads" | "pipelines" (the table's `kind`)

struct StoreKey {
  StoreKind kind;
  std::string hash;  // raw SHA-256 of the canonical query: one per query, never the query
};
StoreKey leads_key(const LeadsQuery& q);  // over canonical(q)
StoreKey pipelines_key();
// The additional authenticated data of an entry: "<user>|<kind>|<hex of the key hash>".
std::string store_aad(const std::string& user, const StoreKey& k);

// The stored plaintext: the has_more flag and the mapped items JSON.
std::string encode_stored_body(const std::string& items_json, bool has_more);
// false when `plain` is not something encode_stored_body wrote.
bool decode_stored_body(std::string_view plain, std::string& items_json, bool& has_more);

bool store_enabled(const Config& cfg);  // LEADS_FRESH_S > 0
bool is_fresh(double age_s, int fresh_s);
bool may_serve_stale(double age_s, int stale_max_s);  // stale_max_s 0: never
// The failures a stored answer may stand in for: amoCRM unavailable (unreachable, 5xx),
// timed out or rate limiting (429 twice), and our own pacer refusing to wait.
bool stale_if(core::Fault f);
// The public code of a failure that waiting identical requests adopt (nullptr for the
// others: they look again), and back. Codes are those of the error table.
const char* shared_failure_code(core::Fault f);
std::optional<core::Fault> shared_failure(std::string_view code);
// How long a fetch holds its lease: one paced amoCRM call at its bounds (the pacing wait
// and the HTTP timeout) plus slack. After that the lease is free: its holder crashed, or it
// is on a rare longer path (a refresh after a 401, the 429 retry) and a waiting request
// calls amoCRM too — a crashed process never blocks identical requests for longer.
int64_t lease_ms(const Config& cfg);

// Eviction: which of one user's entries to drop after writing `keep` (its index): every
// entry older than `max_age_s`, then the oldest beyond `per_user_cap`. Entries whose fetch
// is in flight (leased) are not dropped; `keep` never is.
struct EntryAge {
  double age_s = 0;  // since written
  bool leased = false;
};
enum class EvictReason { kMaxAge, kCap };
struct Eviction {
  size_t index;
  EvictReason reason;
};
std::vector<Eviction> plan_user_eviction(const std::vector<EntryAge>& entries, size_t keep,
                                         int per_user_cap, int max_age_s);
// Entries to drop so that `total` fits `cap` (0 when it fits).
int64_t global_excess(int64_t total, int64_t cap);
// Counting every entry costs a scan, so a process checks the global cap on every n-th
// entry it creates: every one for caps below 2048, then every cap/1024-th, at most 64th.
bool global_check_due(uint64_t created, int64_t cap);

// ---- The store ----

// The answer for `key`: stored when fresh, else `live()` (the one amoCRM call among
// identical concurrent requests), stale-if-error. Throws what `live()` throws otherwise,
// and kNotConnected / kReauthRequired before anything when the connection is not usable.
Fetched serve_stored(Services& svc, const std::string& user, const StoreKey& key,
                     const std::function<Fetched()>& live);

struct StorePurge {
  size_t expired = 0;   // older than LEADS_STORE_MAX_AGE_S
  size_t over_cap = 0;  // oldest beyond LEADS_STORE_MAX_ENTRIES
};
// Enforces the maximum age and the global cap exactly (refresh-due).
StorePurge purge_store(Services& svc);

}  // namespace amo::amo_api
