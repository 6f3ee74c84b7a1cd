#include "oauth/connect.hpp"

#include <chrono>
#include <thread>

#include "amo/client.hpp"
#include "amo/gateway.hpp"
#include "amo/parse.hpp"
#include "config/config.hpp"
#include "core/time.hpp"
#include "crypto/crypto.hpp"
#include "http/request.hpp"
#include "oauth/tokens.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::oauth {

using core::Error;
using core::Fault;

std::string digest(const std::string& v) { return crypto::sha256(v); }

NewState create_state(Services& svc, const std::string& user, const std::string& purpose) {
  NewState s;
  s.state = crypto::random_token(32);
  s.expires_at = svc.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    int64_t exp = store::insert_state(tx, digest(s.state), user, purpose, svc.cfg.amo_state_ttl_s);
    // About one call in 64 purges long-expired states (the first character is random).
    if (s.state[0] == 'A') store::purge_expired_states(tx);
    tx.commit();
    return exp;
  });
  const std::string& base = svc.cfg.amo_auth_url;
  s.url = base + (base.find('?') == std::string::npos ? "?" : "&") +
          "client_id=" + http::url_encode(svc.cfg.amo_client_id) +
          "&state=" + http::url_encode(s.state) +
          "&mode=" + http::url_encode(svc.cfg.amo_auth_mode);
  return s;
}

Fault callback_fault(Fault f) {
  switch (f) {
    case Fault::kAmoCodeRejected:
    case Fault::kAmoRejected:
    case Fault::kAmoBadResponse:
    case Fault::kAmoForbidden:
      return Fault::kExchangeFailed;
    case Fault::kAmoUnavailable:
    case Fault::kAmoRateLimited:
    case Fault::kRateLimited:
      return Fault::kExchangeUnavailable;
    case Fault::kAmoTimeout:
      return Fault::kExchangeTimedOut;
    default:
      return f;
  }
}

namespace {

void audit_failure(Services& svc, const std::string& user, const char* stage,
                   const amo_api::AmoError& e) {
  try {
    svc.db.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      store::audit(tx, "exchange_failed", user, std::nullopt, json::write([&](json::Writer& w) {
                     w.StartObject();
                     json::kv(w, "stage", stage);
                     json::kv(w, "status", static_cast<int64_t>(e.status));
                     json::kv(w, "hint", e.hint);
                     w.EndObject();
                   }));
      tx.commit();
    });
  } catch (const std::exception&) {
    // The answer to the user matters more than the audit row.
  }
  log::warn("code exchange failed", [&](json::Writer& w) {
    json::kv(w, "stage", stage);
    json::kv(w, "status", static_cast<int64_t>(e.status));
    json::kv(w, "hint", e.hint);
    json::kv(w, "error", e.detail);
  });
}

// Exchanges the code, looks the account up, checks AMO_ACCOUNT_ID and stores the tokens.
Connection exchange(Services& svc, const std::string& user, const Grant& g) {
  amo_api::TokenSet t;
  try {
    t = svc.amo.exchange_code(g.host, g.code);
  } catch (const amo_api::AmoError& e) {
    audit_failure(svc, user, "token", e);
    if (e.kind == amo_api::Failure::kRejected) throw Error(Fault::kAmoCodeRejected);
    throw;
  }
  amo_api::Account account;
  try {
    amo_api::pace(svc, g.host);
    auto r = svc.amo.get(g.host, "/api/v4/account", t.access_token, "api/v4/account");
    if (r.status != 200) {
      auto failure = amo_api::api_failure(r.status).value_or(amo_api::Failure::kGarbage);
      throw amo_api::AmoError(failure, r.status, "account lookup failed",
                              amo_api::problem_text(r.body), r.retry_after);
    }
    account = amo_api::parse_account(r.body);
  } catch (const amo_api::AmoError& e) {
    audit_failure(svc, user, "account", e);
    if (e.kind == amo_api::Failure::kRejected) throw Error(Fault::kAmoCodeRejected);
    throw;
  }
  if (svc.cfg.amo_account_id && *svc.cfg.amo_account_id != std::to_string(account.id)) {
    svc.db.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      store::audit(tx, "account_not_allowed", user, account.id);
      tx.commit();
    });
    throw Error(Fault::kAccountNotAllowed);
  }
  Sealed sealed = seal(svc, user, t.access_token, t.refresh_token);
  int64_t expires_at = core::now_s() + t.expires_in;
  std::optional<std::string> name;
  if (!account.name.empty()) name = account.name;
  svc.db.with(
      [&](pqxx::connection& c) {
        pqxx::work tx(c);
        store::upsert_connection(tx, user, account.id, g.host, name,
                                 {sealed.access, sealed.refresh, sealed.key_id, expires_at},
                                 digest(g.code));
        // A new connection may be another amoCRM login with other rights, even on the
        // same account: nothing stored under the previous one is served again.
        store::clear_user_store(tx, user);
        store::audit(tx, "connect", user, account.id, json::write([&](json::Writer& w) {
                       w.StartObject();
                       json::kv(w, "domain", g.host);
                       w.EndObject();
                     }));
        tx.commit();
      },
      /*retry_stale=*/true);
  log::info("connected", [&](json::Writer& w) {
    json::kv(w, "account_id", account.id);
    json::kv(w, "domain", g.host);
  });
  return Connection{user, g.host, account.id, false};
}

Connection from_row(const store::ConnectionRow& r) {
  return Connection{r.user_id, r.domain, r.account_id.value_or(0), true};
}

// The claim of a state for this code: the user to exchange for, or a finished redemption.
struct Claim {
  std::optional<std::string> user;     // claimed: exchange for this user
  std::optional<Connection> finished;  // redeemed before by this code
};

Claim claim(Services& svc, const std::string& sh, const std::string& ch,
            const std::optional<std::string>& jwt_user) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(2 * svc.cfg.amo_http_timeout_ms + 2000);
  for (;;) {
    std::optional<Claim> outcome = svc.db.with([&](pqxx::connection& c) -> std::optional<Claim> {
      pqxx::work tx(c);
      if (auto s = store::consume_state(tx, sh, ch, jwt_user)) {
        tx.commit();
        return Claim{s->user_id, std::nullopt};
      }
      auto s = store::get_state(tx, sh);
      if (!s) throw Error(Fault::kInvalidState);
      if (jwt_user && s->user_id != *jwt_user)
        throw Error(Fault::kForbidden, "This authorization belongs to another user");
      if (!s->consumed || s->code_hash != ch || s->failed) throw Error(Fault::kInvalidState);
      // Claimed by this very code: finished (a reload), or still in flight elsewhere.
      auto by_code = store::find_by_code(tx, ch);
      if (by_code && by_code->user_id == s->user_id) return Claim{std::nullopt, from_row(*by_code)};
      return std::nullopt;
    });
    if (outcome) return *outcome;
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(Fault::kRedemptionInProgress, {}, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// After a failed exchange: a final failure marks the state failed, a transient one gives it
// back so that reloading the page (or retrying exchange-code) tries again.
void settle_state(Services& svc, const std::string& sh, const std::string& ch, bool final) {
  try {
    svc.db.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      if (final)
        store::fail_state(tx, sh, ch);
      else
        store::release_state(tx, sh, ch);
      tx.commit();
    });
  } catch (const std::exception&) {
    // Best effort: an unsettled state expires with its TTL.
  }
}

}  // namespace

Connection redeem(Services& svc, const Grant& g, const std::optional<std::string>& jwt_user) {
  const std::string ch = digest(g.code);
  if (jwt_user) {
    // Already redeemed? The same user gets the same answer without amoCRM; another user 409.
    auto prior = svc.db.with([&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      return store::find_by_code(tx, ch);
    });
    if (prior) {
      if (prior->user_id != *jwt_user) throw Error(Fault::kCodeAlreadyUsed);
      return from_row(*prior);
    }
  }
  if (!g.state) {
    if (!jwt_user) throw Error(Fault::kInvalidState);
    return exchange(svc, *jwt_user, g);
  }
  const std::string sh = digest(*g.state);
  Claim c = claim(svc, sh, ch, jwt_user);
  if (c.finished) return *c.finished;
  try {
    return exchange(svc, *c.user, g);
  } catch (const Error& e) {
    bool final = e.fault() == Fault::kAmoCodeRejected || e.fault() == Fault::kAccountNotAllowed;
    settle_state(svc, sh, ch, final);
    throw;
  } catch (...) {
    settle_state(svc, sh, ch, false);
    throw;
  }
}

}  // namespace amo::oauth
