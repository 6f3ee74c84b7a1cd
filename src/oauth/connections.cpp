#include "oauth/connections.hpp"

#include "config/config.hpp"
#include "core/error.hpp"
#include "crypto/crypto.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::oauth {

using core::Error;
using core::Fault;

Status status(Services& svc, const std::string& user) {
  auto row = svc.db.with([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);  // one statement: no BEGIN/COMMIT round trips
    return store::get_status(tx, user);
  });
  Status s;
  if (!row) return s;
  s.exists = true;
  s.has_tokens = row->has_tokens;
  s.needs_reauth = row->needs_reauth;
  s.domain = row->domain;
  s.account_id = row->account_id;
  s.account_name = row->account_name;
  s.expires_at = row->expires_at;
  s.last_refresh_at = row->last_refresh_at;
  return s;
}

void disconnect(Services& svc, const std::string& user, const char* audit_event) {
  svc.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto row = store::get_connection(tx, user);
    if (store::delete_connection(tx, user))
      store::audit(tx, audit_event, user, row ? row->account_id : std::nullopt);
    store::clear_user_store(tx, user);  // its stored leads go with it
    tx.commit();
  });
}

int64_t verify_hook(const Config& cfg, const std::optional<std::string>& client_uuid,
                    const std::optional<std::string>& account_id,
                    const std::optional<std::string>& signature) {
  auto reject = [] { return Error(Fault::kUnauthorized, "Invalid disconnect signature"); };
  if (!client_uuid || !account_id || !signature) throw reject();
  if (!crypto::constant_time_equal(*client_uuid, cfg.amo_client_id)) throw reject();
  std::string expected =
      crypto::hex(crypto::hmac_sha256(cfg.amo_client_secret, *client_uuid + "|" + *account_id));
  std::string given = *signature;
  for (char& ch : given)
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
  if (!crypto::constant_time_equal(given, expected)) throw reject();
  if (account_id->empty() || account_id->size() > 18 ||
      account_id->find_first_not_of("0123456789") != std::string::npos)
    throw Error(Fault::kInvalidParameter, "account_id must be a number");
  return std::stoll(*account_id);
}

size_t hook_disconnect(Services& svc, int64_t account) {
  auto removed = svc.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto users = store::delete_account_connections(tx, account);
    for (auto& u : users) {
      store::audit(tx, "hook_disconnect", u, account);
      store::clear_user_store(tx, u);
    }
    tx.commit();
    return users.size();
  });
  log::info("amoCRM disconnected the integration", [&](json::Writer& w) {
    json::kv(w, "account_id", account);
    json::kv(w, "connections_removed", static_cast<int64_t>(removed));
  });
  return removed;
}

}  // namespace amo::oauth
