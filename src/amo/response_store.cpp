#include "amo/response_store.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "app/metrics.hpp"
#include "config/config.hpp"
#include "crypto/crypto.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::amo_api {

using core::Error;
using core::Fault;

// ---- Pure decisions ----

const char* kind_name(StoreKind k) { return k == StoreKind::kLeads ? "leads" : "pipelines"; }

StoreKey leads_key(const LeadsQuery& q) {
  return {StoreKind::kLeads, crypto::sha256(canonical(q))};
}

StoreKey pipelines_key() { return {StoreKind::kPipelines, crypto::sha256(kPipelinesPath)}; }

std::string store_aad(const std::string& user, const StoreKey& k) {
  return user + "|" + kind_name(k.kind) + "|" + crypto::hex(k.hash);
}

std::string encode_stored_body(const std::string& items_json, bool has_more) {
  return (has_more ? "1" : "0") + items_json;
}

bool decode_stored_body(std::string_view plain, std::string& items_json, bool& has_more) {
  if (plain.size() < 3 || (plain[0] != '0' && plain[0] != '1') || plain[1] != '[' ||
      plain.back() != ']')
    return false;
  has_more = plain[0] == '1';
  items_json.assign(plain.substr(1));
  return true;
}

bool store_enabled(const Config& cfg) { return cfg.leads_fresh_s > 0; }

bool is_fresh(double age_s, int fresh_s) { return fresh_s > 0 && age_s >= 0 && age_s < fresh_s; }

bool may_serve_stale(double age_s, int stale_max_s) {
  return stale_max_s > 0 && age_s >= 0 && age_s < stale_max_s;
}

bool stale_if(Fault f) {
  return f == Fault::kAmoUnavailable || f == Fault::kAmoTimeout || f == Fault::kAmoRateLimited ||
         f == Fault::kRateLimited;
}

namespace {
struct SharedFailure {
  Fault fault;
  const char* code;
};
// The outcomes an identical waiting request adopts instead of calling amoCRM itself.
constexpr SharedFailure kShared[] = {
    {Fault::kAmoUnavailable, "amo_unavailable"},  {Fault::kAmoTimeout, "amo_timeout"},
    {Fault::kAmoRateLimited, "amo_rate_limited"}, {Fault::kRateLimited, "rate_limited"},
    {Fault::kAmoBadResponse, "amo_bad_response"}, {Fault::kAmoRejected, "amo_error"},
    {Fault::kAmoForbidden, "forbidden"},
};
}  // namespace

const char* shared_failure_code(Fault f) {
  for (auto& s : kShared)
    if (s.fault == f) return s.code;
  return nullptr;
}

std::optional<Fault> shared_failure(std::string_view code) {
  for (auto& s : kShared)
    if (code == s.code) return s.fault;
  return std::nullopt;
}

int64_t lease_ms(const Config& cfg) {
  // One paced call at its bounds, and slack.
  return int64_t{cfg.amo_rate_limit_max_wait_ms} + cfg.amo_http_timeout_ms + 2000;
}

std::vector<Eviction> plan_user_eviction(const std::vector<EntryAge>& entries, size_t keep,
                                         int per_user_cap, int max_age_s) {
  std::vector<Eviction> out;
  std::vector<size_t> candidates;  // may be dropped for the cap, oldest first
  size_t kept = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i != keep && !entries[i].leased && entries[i].age_s > max_age_s) {
      out.push_back({i, EvictReason::kMaxAge});
      continue;
    }
    ++kept;
    if (i != keep && !entries[i].leased) candidates.push_back(i);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](size_t a, size_t b) { return entries[a].age_s > entries[b].age_s; });
  const size_t cap = static_cast<size_t>(std::max(1, per_user_cap));
  for (size_t i = 0; kept > cap && i < candidates.size(); ++i, --kept)
    out.push_back({candidates[i], EvictReason::kCap});
  return out;
}

int64_t global_excess(int64_t total, int64_t cap) { return std::max<int64_t>(0, total - cap); }

bool global_check_due(uint64_t created, int64_t cap) {
  const uint64_t every = static_cast<uint64_t>(std::clamp<int64_t>(cap / 1024, 1, 64));
  return created % every == 0;
}

// ---- The store ----

namespace {

// Entries this process created (the global cap is checked on every n-th).
std::atomic<uint64_t> g_created{0};

using Clock = std::chrono::steady_clock;

struct Seen {
  store::StoreView view;
  std::optional<Fetched> stored;  // the entry's answer, when readable and of this account
};

// The user's connection and entry in one round trip; throws when the connection is not
// usable, so nothing stored is ever served to such a user.
Seen look(Services& svc, const std::string& user, const StoreKey& key) {
  auto v = svc.db.with([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return store::read_store(tx, user, kind_name(key.kind), key.hash);
  });
  if (!v || !v->has_tokens) throw Error(Fault::kNotConnected);
  if (v->needs_reauth) throw Error(Fault::kReauthRequired);
  Seen s{std::move(*v), std::nullopt};
  const auto& e = s.view.entry;
  if (!e || !e->body_enc || !e->key_id || e->account_id != s.view.account_id) return s;
  try {
    std::string plain = svc.cipher.decrypt(*e->body_enc, *e->key_id, store_aad(user, key));
    Fetched f;
    if (!decode_stored_body(plain, f.items_json, f.has_more)) throw crypto::CryptoError("shape");
    f.fetched_at = e->fetched_at;
    s.stored = std::move(f);
  } catch (const crypto::CryptoError&) {
    // Key no longer known (rotated away) or damaged: a miss; the next fill replaces it.
    log::warn("stored leads answer cannot be read; fetching again",
              [&](json::Writer& w) { json::kv(w, "key_id", *e->key_id); });
  }
  return s;
}

Fetched as_stale(Fetched f, const char* reason) {
  f.stale = true;
  f.stale_reason = reason;
  return f;
}

// Waits (without holding a database connection) until the lease `token` ends.
void wait_for(Services& svc, const std::string& user, const StoreKey& key, const std::string& token,
              Clock::time_point deadline) {
  int64_t pause_ms = 15;
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    pause_ms = std::min<int64_t>(100, pause_ms * 3 / 2);
    auto l = svc.db.with([&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      return store::poll_store_lease(tx, user, kind_name(key.kind), key.hash);
    });
    if (!l || !l->leased || l->lease_token != token) return;
  }
}

void end_lease(Services& svc, const std::string& user, const StoreKey& key,
               const std::string& token, const char* fail_code, std::optional<int> retry_after) {
  try {
    svc.db.with([&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      store::end_store_lease(tx, user, kind_name(key.kind), key.hash, token,
                             fail_code ? std::optional<std::string>(fail_code) : std::nullopt,
                             retry_after);
    });
  } catch (const std::exception&) {
    // Best effort: an unended lease expires after lease_ms.
  }
}

// Evicts what the user's new entry pushed over the bounds, and every expired entry.
void evict_after_write(Services& svc, pqxx::work& tx, const std::string& user, const StoreKey& key,
                       bool created) {
  const Config& cfg = svc.cfg;
  svc.metrics.store_evicted("max_age",
                            store::purge_store_older_than(tx, cfg.leads_store_max_age_s));
  if (!created) return;  // a replaced entry changes no count
  auto entries = store::store_entries_of(tx, user);
  std::vector<EntryAge> ages;
  size_t keep = entries.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    ages.push_back({entries[i].age_s, entries[i].leased});
    if (entries[i].kind == kind_name(key.kind) && entries[i].key_hash == key.hash) keep = i;
  }
  for (auto& ev :
       plan_user_eviction(ages, keep, cfg.leads_store_per_user, cfg.leads_store_max_age_s)) {
    store::delete_store_entry(tx, user, entries[ev.index].kind, entries[ev.index].key_hash);
    svc.metrics.store_evicted(ev.reason == EvictReason::kCap ? "cap" : "max_age", 1);
  }
  if (global_check_due(++g_created, cfg.leads_store_max_entries)) {
    int64_t excess = global_excess(store::count_store_entries(tx), cfg.leads_store_max_entries);
    if (excess > 0)
      svc.metrics.store_evicted("global_cap", store::evict_oldest_store_entries(tx, excess));
  }
}

// Stores a fetched answer; returns its fetched_at (database clock) when stored.
std::optional<int64_t> fill(Services& svc, const std::string& user, const StoreKey& key,
                            const store::StoreView& view, const std::string& token, bool created,
                            const Fetched& f) {
  const std::string sealed =
      svc.cipher.encrypt(encode_stored_body(f.items_json, f.has_more), store_aad(user, key));
  return svc.db.with([&](pqxx::connection& c) -> std::optional<int64_t> {
    pqxx::work tx(c);
    auto r = store::fill_store_entry(tx, user, kind_name(key.kind), key.hash, view.generation,
                                     token, sealed, svc.cipher.current_id());
    if (!r) return std::nullopt;
    evict_after_write(svc, tx, user, key, created || r->inserted);
    tx.commit();
    return r->fetched_at;
  });
}

// This request holds the lease: call amoCRM, store the answer or share the failure.
Fetched fetch(Services& svc, const std::string& user, const StoreKey& key,
              const store::StoreView& view, const std::string& token, bool created,
              const std::function<Fetched()>& live) {
  const char* kind = kind_name(key.kind);
  svc.metrics.store_request(kind, "miss");
  Fetched f;
  try {
    f = live();
  } catch (const Error& e) {
    end_lease(svc, user, key, token, shared_failure_code(e.fault()), e.retry_after());
    if (stale_if(e.fault()) && svc.cfg.leads_stale_max_s > 0) {
      Seen again = look(svc, user, key);  // the connection is checked again first
      if (again.stored && may_serve_stale(again.view.entry->age_s, svc.cfg.leads_stale_max_s)) {
        svc.metrics.store_request(kind, "stale");
        log::warn("amoCRM failed; serving the stored answer", [&](json::Writer& w) {
          json::kv(w, "kind", kind);
          json::kv(w, "reason", shared_failure_code(e.fault()));
          json::kv(w, "age_s", static_cast<int64_t>(again.view.entry->age_s));
        });
        return as_stale(std::move(*again.stored), shared_failure_code(e.fault()));
      }
    }
    throw;
  } catch (...) {
    end_lease(svc, user, key, token, nullptr, std::nullopt);
    throw;
  }
  try {
    if (auto at = fill(svc, user, key, view, token, created, f))
      f.fetched_at = *at;
    else  // the connection changed meanwhile: nothing kept (its entries went with it)
      end_lease(svc, user, key, token, nullptr, std::nullopt);
  } catch (const std::exception& e) {
    // The answer is good; only keeping it failed (database busy, …).
    end_lease(svc, user, key, token, nullptr, std::nullopt);
    log::warn("leads store write failed", [&](json::Writer& w) {
      json::kv(w, "kind", kind);
      json::kv(w, "error", std::string_view(e.what()));
    });
  }
  return f;
}

}  // namespace

Fetched serve_stored(Services& svc, const std::string& user, const StoreKey& key,
                     const std::function<Fetched()>& live) {
  if (!store_enabled(svc.cfg)) return live();
  const Config& cfg = svc.cfg;
  const char* kind = kind_name(key.kind);
  const auto deadline = Clock::now() + std::chrono::milliseconds(lease_ms(cfg) + 2000);
  std::optional<std::string> waited_for;  // the lease of the identical fetch we waited for
  for (;;) {
    Seen s = look(svc, user, key);
    const auto& e = s.view.entry;
    const bool ours_done = waited_for && e && e->done_token == waited_for;
    if (s.stored && (is_fresh(e->age_s, cfg.leads_fresh_s) || (ours_done && !e->done_fail_code))) {
      svc.metrics.store_request(kind, waited_for ? "coalesced" : "hit");
      return std::move(*s.stored);
    }
    if (ours_done && e->done_fail_code) {
      // The fetch we waited for failed: answer as it did, without calling amoCRM again.
      if (auto fault = shared_failure(*e->done_fail_code)) {
        svc.metrics.store_request(kind, "coalesced");
        if (stale_if(*fault) && s.stored && may_serve_stale(e->age_s, cfg.leads_stale_max_s)) {
          svc.metrics.store_request(kind, "stale");
          return as_stale(std::move(*s.stored), shared_failure_code(*fault));
        }
        throw Error(*fault, {}, e->done_retry_after);
      }
    }
    if (Clock::now() >= deadline)
      throw Error(Fault::kAmoUnavailable,
                  "This list is still being read from amoCRM; retry shortly", 1);
    if (e && e->leased && e->lease_token) {
      waited_for = e->lease_token;
      wait_for(svc, user, key, *waited_for, deadline);
      continue;
    }
    const std::string token = crypto::random_bytes(16);
    auto claimed = svc.db.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto created = store::claim_store_entry(tx, user, kind, key.hash, s.view.generation, token,
                                              lease_ms(cfg));
      tx.commit();
      return created;
    });
    // Not claimed: another request claimed it first, or the connection changed; look again.
    if (claimed) return fetch(svc, user, key, s.view, token, *claimed, live);
  }
}

StorePurge purge_store(Services& svc) {
  return svc.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    StorePurge p;
    p.expired = store::purge_store_older_than(tx, svc.cfg.leads_store_max_age_s);
    int64_t excess = global_excess(store::count_store_entries(tx), svc.cfg.leads_store_max_entries);
    if (excess > 0) p.over_cap = store::evict_oldest_store_entries(tx, excess);
    tx.commit();
    svc.metrics.store_evicted("max_age", p.expired);
    svc.metrics.store_evicted("global_cap", p.over_cap);
    return p;
  });
}

}  // namespace amo::amo_api
