#include "oauth/connections.hpp"

#include "amo/gateway.hpp"
#include "app/metrics.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
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
  return row ? to_status(*row) : Status{};
}

Status to_status(const store::StatusRow& row) {
  Status s;
  s.exists = true;
  s.has_tokens = row.has_tokens;
  s.needs_reauth = row.needs_reauth;
  s.domain = row.domain;
  s.account_id = row.account_id;
  s.account_name = row.account_name;
  s.expires_at = row.expires_at;
  s.last_refresh_at = row.last_refresh_at;
  return s;
}

bool disconnect(Services& svc, const std::string& user, const char* audit_event,
                const char* actor) {
  return svc.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto row = store::get_connection(tx, user);
    bool existed = store::delete_connection(tx, user);
    if (existed)
      store::audit(tx, audit_event, user, row ? row->account_id : std::nullopt,
                   actor ? json::write([&](json::Writer& w) {
                     w.StartObject();
                     json::kv(w, "actor", actor);
                     w.EndObject();
                   })
                         : "{}");
    store::clear_user_store(tx, user);  // its stored leads go with it
    tx.commit();
    return existed;
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
  const std::string given = core::ascii_lower(*signature);  // hex in either letter case
  if (!crypto::constant_time_equal(given, expected)) throw reject();
  if (account_id->empty() || account_id->size() > 18 ||
      account_id->find_first_not_of("0123456789") != std::string::npos)
    throw Error(Fault::kInvalidParameter, "account_id must be a number");
  return std::stoll(*account_id);
}

namespace {
// Does amoCRM still honour this connection's tokens? The hook carries no nonce or time, so
// a captured hook URL can be replayed; amoCRM revokes the tokens when the integration is
// really removed. Asked with the user's own token (refreshed on 401, as any request): an
// answer means they work; a rejected refresh (or no usable tokens) means they do not.
// When amoCRM cannot be asked, the validly signed hook is believed.
bool tokens_still_work(Services& svc, const std::string& user) {
  try {
    amo_api::api_get(svc, user, "/api/v4/account", "api/v4/account:hook-check");
    return true;
  } catch (const Error&) {
    return false;
  }
}
}  // namespace

size_t hook_disconnect(Services& svc, int64_t account) {
  auto users = svc.db.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::account_connections(tx, account);
  });
  size_t removed = 0, ignored = 0;
  for (const auto& user : users) {
    if (tokens_still_work(svc, user)) {
      ++ignored;
      svc.metrics.hook("ignored");
      svc.db.with([&](pqxx::connection& c) {
        pqxx::work tx(c);
        store::audit(tx, "hook_ignored", user, account);
        tx.commit();
      });
      continue;
    }
    disconnect(svc, user, "hook_disconnect");
    svc.metrics.hook("removed");
    ++removed;
  }
  log::info(ignored ? "amoCRM disconnect hook: connections whose tokens still work were kept"
                    : "amoCRM disconnected the integration",
            [&](json::Writer& w) {
              json::kv(w, "account_id", account);
              json::kv(w, "connections_removed", static_cast<int64_t>(removed));
              json::kv(w, "connections_kept", static_cast<int64_t>(ignored));
            });
  return removed;
}

}  // namespace amo::oauth
