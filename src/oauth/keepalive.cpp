#include "oauth/keepalive.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "amo/response_store.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "crypto/crypto.hpp"
#include "oauth/tokens.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::oauth {

RefreshDueResult refresh_due(Services& svc, int concurrency) {
  auto purged = amo_api::purge_store(svc);
  auto due = svc.db.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::due_for_refresh(tx, svc.cfg.amo_keepalive_days);
  });
  RefreshDueResult out;
  out.due = due.size();
  out.store_purged = purged.expired + purged.over_cap;
  std::atomic<size_t> next{0}, ok{0}, reauth{0}, failed{0};
  auto work = [&] {
    for (size_t i = next++; i < due.size(); i = next++) {
      const std::string& user = due[i];
      try {
        auto row = svc.db.with([&](pqxx::connection& c) {
          pqxx::read_transaction tx(c);
          return store::get_connection(tx, user);
        });
        if (!row) continue;  // disconnected meanwhile
        refresh(svc, user, row->token_version, /*force=*/true);
        ++ok;
      } catch (const core::Error& e) {
        if (e.fault() == core::Fault::kReauthRequired) {
          ++reauth;  // refresh() marked, audited and logged it
          continue;
        }
        ++failed;
        log::warn("keep-alive refresh failed", [&](json::Writer& w) {
          json::kv(w, "fault", static_cast<int64_t>(e.fault()));
          json::kv(w, "error", std::string_view(e.what()));
        });
      }
    }
  };
  const int n = std::max(1, std::min<int>(concurrency, static_cast<int>(due.size())));
  std::vector<std::thread> threads;
  for (int t = 1; t < n; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  out.refreshed = ok.load();
  out.reauth = reauth.load();
  out.failed = failed.load();
  return out;
}

RotateResult rotate_keys(Services& svc) {
  RotateResult out;
  const std::string current = svc.cipher.current_id();
  out.store_removed = svc.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    size_t n = store::delete_store_not_under_key(tx, current);
    tx.commit();
    return n;
  });
  for (;;) {
    auto rows = svc.db.with([&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      return store::rows_not_under_key(tx, current, 200);
    });
    size_t progress = 0;
    for (auto& r : rows) {
      Opened pair;
      try {
        pair = open(svc, r.user_id, *r.access_enc, *r.refresh_enc, *r.key_id);
      } catch (const core::Error&) {
        ++out.unreadable;
        continue;
      }
      Sealed sealed = seal(svc, r.user_id, pair.access, pair.refresh);
      bool done = svc.db.with([&](pqxx::connection& c) {
        pqxx::work tx(c);
        bool ok = store::rewrap_tokens(tx, r.user_id, r.token_version, sealed.access,
                                       sealed.refresh, sealed.key_id);
        tx.commit();
        return ok;
      });
      out.rewrapped += done;
      progress += done;
    }
    if (rows.empty() || progress == 0) break;
  }
  return out;
}

}  // namespace amo::oauth
