#include "oauth/connect.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <ctime>

#include "amo/client.hpp"
#include "crypto/crypto.hpp"
#include "http/errors.hpp"
#include "oauth/tokens.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::oauth {

using http::ApiError;
using http::Err;

std::string digest(const std::string& v) { return crypto::sha256(v); }

bool host_allowed(const std::string& raw, const std::vector<std::string>& allowed) {
  if (raw.empty() || raw.size() > 253) return false;
  std::string host;
  for (char c : raw) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '-' || c == '.')) return false;  // no '@', ':', '/', spaces
    host.push_back(static_cast<char>(std::tolower(u)));
  }
  if (host.front() == '.' || host.back() == '.' || host.find("..") != std::string::npos)
    return false;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return false;
  for (auto d : allowed) {
    for (char& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (host == d) return true;
    if (host.size() > d.size() + 1 && host.compare(host.size() - d.size(), d.size(), d) == 0 &&
        host[host.size() - d.size() - 1] == '.')
      return true;
  }
  return false;
}

NewState create_state(Context& ctx, const std::string& user, const std::string& purpose) {
  NewState s;
  s.state = crypto::random_token(32);
  s.expires_at = ctx.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    int64_t exp = store::insert_state(tx, digest(s.state), user, purpose, ctx.cfg.amo_state_ttl_s);
    // About one call in 64 purges long-expired states (the first character is random).
    if (s.state[0] == 'A') store::purge_expired_states(tx);
    tx.commit();
    return exp;
  });
  return s;
}

namespace {
void audit_failure(Context& ctx, const std::string& user, const char* stage,
                   const amo_api::AmoError& e) {
  try {
    ctx.db.with([&](pqxx::connection& c) {
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
  });
}
}  // namespace

Connection redeem_code(Context& ctx, const std::string& user, const std::string& code,
                       const std::string& host) {
  amo_api::TokenSet t;
  try {
    t = ctx.amo->exchange_code(host, code);
  } catch (const amo_api::AmoError& e) {
    audit_failure(ctx, user, "token", e);
    if (e.kind == amo_api::Failure::kRejected) throw ApiError(Err::kExchangeFailed);
    amo_api::rethrow_as_api_error(e);
  }
  amo_api::Account account;
  try {
    pace(ctx, host);
    auto r = ctx.amo->get(host, "/api/v4/account", t.access_token, "api/v4/account");
    if (r.status != 200)
      throw amo_api::AmoError(
          r.status >= 500 ? amo_api::Failure::kServer : amo_api::Failure::kRejected, r.status,
          "account lookup failed");
    account = amo_api::Client::parse_account(r.body);
  } catch (const amo_api::AmoError& e) {
    audit_failure(ctx, user, "account", e);
    if (e.kind == amo_api::Failure::kRejected || e.kind == amo_api::Failure::kGarbage)
      throw ApiError(Err::kExchangeFailed);
    amo_api::rethrow_as_api_error(e);
  }
  if (ctx.cfg.amo_account_id && *ctx.cfg.amo_account_id != std::to_string(account.id)) {
    ctx.db.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      store::audit(tx, "account_not_allowed", user, account.id);
      tx.commit();
    });
    throw ApiError(Err::kAccountNotAllowed);
  }
  Sealed sealed = seal(ctx, user, t.access_token, t.refresh_token);
  int64_t expires_at = static_cast<int64_t>(std::time(nullptr)) + t.expires_in;
  std::optional<std::string> name;
  if (!account.name.empty()) name = account.name;
  ctx.db.with(
      [&](pqxx::connection& c) {
        pqxx::work tx(c);
        store::upsert_connection(tx, user, account.id, host, name,
                                 {sealed.access, sealed.refresh, sealed.key_id, expires_at},
                                 digest(code));
        store::audit(tx, "connect", user, account.id, json::write([&](json::Writer& w) {
                       w.StartObject();
                       json::kv(w, "domain", host);
                       w.EndObject();
                     }));
        tx.commit();
      },
      /*retry_stale=*/true);
  log::info("connected", [&](json::Writer& w) {
    json::kv(w, "account_id", account.id);
    json::kv(w, "domain", host);
  });
  return Connection{host, account.id, name};
}

}  // namespace amo::oauth
