// The leads store's pure decisions: one key per query (and a different one for any other
// query), what binds a stored body to its place, freshness and stale-if-error, which
// failures waiting requests share, and which entries are evicted.
#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <vector>

#include "amo/response_store.hpp"
#include "config/config.hpp"
#include "crypto/crypto.hpp"
#include "http/errors.hpp"

using namespace amo::amo_api;
using amo::core::Fault;

namespace {

std::string hex_of(const StoreKey& k) { return amo::crypto::hex(k.hash); }

std::vector<size_t> indices(const std::vector<Eviction>& ev, EvictReason r) {
  std::vector<size_t> out;
  for (auto& e : ev)
    if (e.reason == r) out.push_back(e.index);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(response_store)

BOOST_AUTO_TEST_CASE(one_key_per_query) {
  LeadsQuery a;  // the defaults: page 1, limit 50, created_at desc
  LeadsQuery b;
  b.order_field = "created_at";
  b.order_dir = "desc";
  b.page = 1;
  b.limit = 50;
  BOOST_TEST(hex_of(leads_key(a)) == hex_of(leads_key(b)));
  BOOST_TEST(leads_key(a).hash.size() == 32u);
  BOOST_TEST(hex_of(leads_key(a)) == amo::crypto::sha256_hex(canonical(a)));
  // A created range spelled as ISO 8601 or unix seconds is the same number once parsed.
  LeadsQuery ranged = a, ranged2 = a;
  ranged.created_from = 1737331200;
  ranged2.created_from = 1737331200;
  BOOST_TEST(hex_of(leads_key(ranged)) == hex_of(leads_key(ranged2)));
  // Every field that changes amoCRM's answer changes the key.
  std::vector<LeadsQuery> variants;
  auto add = [&](auto&& change) {
    LeadsQuery q = a;
    change(q);
    variants.push_back(q);
  };
  add([](LeadsQuery&) {});
  add([](LeadsQuery& q) { q.page = 2; });
  add([](LeadsQuery& q) { q.limit = 51; });
  add([](LeadsQuery& q) { q.query = "Квартира"; });
  add([](LeadsQuery& q) { q.query = "квартира"; });
  add([](LeadsQuery& q) { q.query = "a&limit=250"; });  // cannot forge another query's key
  add([](LeadsQuery& q) { q.pipeline_id = 8011522; });
  add([](LeadsQuery& q) {
    q.pipeline_id = 8011522;
    q.status_id = 142;
  });
  add([](LeadsQuery& q) { q.responsible_user_id = 10587301; });
  add([](LeadsQuery& q) { q.created_from = 1737331200; });
  add([](LeadsQuery& q) { q.created_to = 1737331200; });
  add([](LeadsQuery& q) { q.order_field = "id"; });
  add([](LeadsQuery& q) { q.order_dir = "asc"; });
  std::set<std::string> keys;
  for (auto& q : variants) keys.insert(hex_of(leads_key(q)));
  BOOST_TEST(keys.size() == variants.size());
  // Pipelines have one key, of their own kind.
  BOOST_TEST(hex_of(pipelines_key()) == hex_of(pipelines_key()));
  BOOST_TEST(keys.count(hex_of(pipelines_key())) == 0u);
  BOOST_TEST(std::string(kind_name(pipelines_key().kind)) == "pipelines");
  BOOST_TEST(std::string(kind_name(leads_key(a).kind)) == "leads");
}

BOOST_AUTO_TEST_CASE(aad_binds_user_kind_and_key) {
  LeadsQuery q;
  const std::string aad = store_aad("agent-7", leads_key(q));
  BOOST_TEST(aad == "agent-7|leads|" + amo::crypto::sha256_hex(canonical(q)));
  BOOST_TEST(store_aad("agent-8", leads_key(q)) != aad);
  BOOST_TEST(store_aad("agent-7", pipelines_key()) ==
             "agent-7|pipelines|" + amo::crypto::sha256_hex(kPipelinesPath));
  // A body sealed for one user/key does not open for another.
  amo::crypto::TokenCipher cipher(
      *amo::crypto::key_from_base64(amo::crypto::base64_encode(std::string(32, 'S'))));
  std::string blob = cipher.encrypt(encode_stored_body("[{\"id\":1}]", true), aad);
  BOOST_TEST(cipher.decrypt(blob, cipher.current_id(), aad) == "1[{\"id\":1}]");
  BOOST_CHECK_THROW(cipher.decrypt(blob, cipher.current_id(), store_aad("agent-8", leads_key(q))),
                    amo::crypto::CryptoError);
  LeadsQuery other;
  other.page = 2;
  BOOST_CHECK_THROW(
      cipher.decrypt(blob, cipher.current_id(), store_aad("agent-7", leads_key(other))),
      amo::crypto::CryptoError);
}

BOOST_AUTO_TEST_CASE(stored_body_round_trip) {
  std::string items;
  bool more = false;
  BOOST_TEST(decode_stored_body(encode_stored_body("[{\"id\":1}]", true), items, more));
  BOOST_TEST(items == "[{\"id\":1}]");
  BOOST_TEST(more);
  BOOST_TEST(decode_stored_body(encode_stored_body("[]", false), items, more));
  BOOST_TEST(items == "[]");
  BOOST_TEST(!more);
  for (const char* bad : {"", "1", "1[", "2[]", "1{}", "[]", "0[1"}) BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!decode_stored_body(bad, items, more));
    }
}

BOOST_AUTO_TEST_CASE(freshness_and_stale_windows) {
  BOOST_TEST(is_fresh(0, 5));
  BOOST_TEST(is_fresh(4.99, 5));
  BOOST_TEST(!is_fresh(5, 5));
  BOOST_TEST(!is_fresh(0, 0));  // LEADS_FRESH_S=0: the store is off
  BOOST_TEST(may_serve_stale(86399.5, 86400));
  BOOST_TEST(!may_serve_stale(86400, 86400));
  BOOST_TEST(!may_serve_stale(1, 0));  // LEADS_STALE_MAX_S=0: never stale
  amo::Config cfg;
  cfg.leads_fresh_s = 0;
  BOOST_TEST(!store_enabled(cfg));
  cfg.leads_fresh_s = 1;
  BOOST_TEST(store_enabled(cfg));
}

BOOST_AUTO_TEST_CASE(stale_only_for_outages_and_rate_limits) {
  for (Fault f :
       {Fault::kAmoUnavailable, Fault::kAmoTimeout, Fault::kAmoRateLimited, Fault::kRateLimited})
    BOOST_TEST(stale_if(f), static_cast<int>(f));
  // Never for a connection that is gone, needs re-authorization or lost its rights, nor
  // for an answer amoCRM sent but we could not read, nor for our own failures.
  for (Fault f : {Fault::kNotConnected, Fault::kReauthRequired, Fault::kAmoForbidden,
                  Fault::kAmoRejected, Fault::kAmoBadResponse, Fault::kDbUnavailable,
                  Fault::kDbBusy, Fault::kInternal, Fault::kUnauthorized})
    BOOST_TEST(!stale_if(f), static_cast<int>(f));
}

BOOST_AUTO_TEST_CASE(shared_failures_use_the_error_table_codes) {
  // What waiting requests adopt, and the staleReason texts, are the public codes.
  int shared = 0;
  for (int i = 0; i <= static_cast<int>(Fault::kInternal); ++i) {
    Fault f = static_cast<Fault>(i);
    const char* code = shared_failure_code(f);
    if (stale_if(f)) BOOST_TEST(code != nullptr, i);
    if (!code) continue;
    ++shared;
    BOOST_TEST(std::string(code) == amo::http::info(f).code, i);
    BOOST_TEST((shared_failure(code) == f), code);
  }
  BOOST_TEST(shared == 7);
  BOOST_TEST(shared_failure_code(Fault::kReauthRequired) == nullptr);
  BOOST_TEST(shared_failure_code(Fault::kNotConnected) == nullptr);
  BOOST_TEST(!shared_failure("reauthorization_required").has_value());
  BOOST_TEST(!shared_failure("").has_value());
}

BOOST_AUTO_TEST_CASE(lease_outlasts_one_paced_call) {
  amo::Config cfg;  // defaults: 5 s pacing wait, 10 s timeout
  BOOST_TEST(lease_ms(cfg) == 5000 + 10000 + 2000);
  cfg.amo_http_timeout_ms = 3000;
  cfg.amo_rate_limit_max_wait_ms = 0;
  BOOST_TEST(lease_ms(cfg) == 3000 + 2000);
}

BOOST_AUTO_TEST_CASE(user_eviction_drops_expired_then_oldest) {
  // ages: 0 new (keep), 1: 10 s, 2: 500 s, 3: 90000 s (past max age), 4: 300 s leased
  std::vector<EntryAge> e = {{0, false}, {10, false}, {500, false}, {90000, false}, {300, true}};
  auto ev = plan_user_eviction(e, 0, 3, 86400);
  BOOST_TEST((indices(ev, EvictReason::kMaxAge) == std::vector<size_t>{3}));
  // 4 left (0, 1, 2, 4) for a cap of 3: the oldest that may go is 2 (4 is being fetched).
  BOOST_TEST((indices(ev, EvictReason::kCap) == std::vector<size_t>{2}));
  // Under the cap and nothing expired: nothing.
  BOOST_TEST(plan_user_eviction(e, 0, 10, 100000).empty());
  // Cap 1: everything but the kept entry and the leased one.
  auto one = plan_user_eviction(e, 0, 1, 100000);
  BOOST_TEST((indices(one, EvictReason::kCap) == std::vector<size_t>{3, 2, 1}));
  // The kept entry is never dropped, even when it is the oldest.
  std::vector<EntryAge> old_keep = {{50, false}, {1, false}, {2, false}};
  BOOST_TEST((indices(plan_user_eviction(old_keep, 0, 2, 86400), EvictReason::kCap) ==
              std::vector<size_t>{2}));
  // A leased entry past the max age stays too (its fetch is about to replace it).
  std::vector<EntryAge> leased_old = {{0, false}, {99999, true}};
  BOOST_TEST(plan_user_eviction(leased_old, 0, 5, 86400).empty());
  // An entry exactly at the max age is kept; one second past, dropped.
  std::vector<EntryAge> edge = {{0, false}, {86400, false}, {86401, false}};
  BOOST_TEST((indices(plan_user_eviction(edge, 0, 5, 86400), EvictReason::kMaxAge) ==
              std::vector<size_t>{2}));
}

BOOST_AUTO_TEST_CASE(global_cap_excess_and_check_interval) {
  BOOST_TEST(global_excess(10, 10) == 0);
  BOOST_TEST(global_excess(9, 10) == 0);
  BOOST_TEST(global_excess(13, 10) == 3);
  // Small caps: checked on every new entry, so they hold exactly.
  for (uint64_t n = 1; n < 50; ++n) BOOST_TEST(global_check_due(n, 1000));
  // 100000 entries: every 64th (the most); 8192: every 8th.
  int due = 0;
  for (uint64_t n = 1; n <= 640; ++n) due += global_check_due(n, 100000);
  BOOST_TEST(due == 10);
  due = 0;
  for (uint64_t n = 1; n <= 64; ++n) due += global_check_due(n, 8192);
  BOOST_TEST(due == 8);
}

BOOST_AUTO_TEST_SUITE_END()
