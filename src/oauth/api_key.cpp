#include "oauth/api_key.hpp"

#include "amo/client.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "crypto/crypto.hpp"
#include "oauth/connect.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::oauth {

using core::Error;
using core::Fault;

void request_api_key_exchange(Services& svc, const std::string& user, const std::string& login,
                              const std::string& api_key) {
  const std::string lower = core::ascii_lower(login);
  const std::string user_bucket = "apikey:user:" + user;
  const std::string login_bucket = "apikey:login:" + crypto::sha256_hex(lower);
  int64_t wait = svc.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    int64_t a = store::take_once(tx, user_bucket, kApiKeyWindowS);
    int64_t b = store::take_once(tx, login_bucket, kApiKeyWindowS);
    if (a == 0 && b == 0) tx.commit();
    return std::max(a, b);
  });
  if (wait > 0)
    throw Error(Fault::kRateLimited, "An API-key exchange was requested recently; retry later",
                static_cast<int>(wait));
  auto s = create_state(svc, user, "api_key");
  try {
    svc.amo.exchange_api_key(svc.cfg.amo_domain, login, api_key, s.state);
  } catch (const amo_api::AmoError& e) {
    using amo_api::Failure;
    if (e.kind != Failure::kRejected && e.kind != Failure::kRateLimited) {
      // Nothing reached amoCRM's limits: let the user try again now.
      svc.db.with([&](pqxx::connection& c) {
        pqxx::work tx(c);
        store::release_once(tx, user_bucket);
        store::release_once(tx, login_bucket);
        tx.commit();
      });
    }
    log::warn("API-key exchange failed", [&](json::Writer& w) {
      json::kv(w, "status", static_cast<int64_t>(e.status));
      json::kv(w, "hint", e.hint);
      json::kv(w, "error", e.detail);
    });
    // amoCRM's 400/403 are about what the user typed; any other refusal is amoCRM's.
    if (e.kind == Failure::kRejected && e.status == 403)
      throw Error(Fault::kForbidden, "amoCRM refused this login or API key");
    if (e.kind == Failure::kRejected && (e.status == 400 || e.status == 401))
      throw Error(Fault::kInvalidParameter, "amoCRM did not accept the login or API key");
    if (e.kind == Failure::kRateLimited)
      throw Error(Fault::kAmoRateLimited, {}, e.retry_after().value_or(60));
    throw;
  }
}

}  // namespace amo::oauth
