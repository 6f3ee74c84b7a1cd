// GET …/auth-url, POST …/exchange-code, POST …/disconnect, GET …/disconnect (amoCRM hook)
#include "oauth/connect.hpp"

#include <cctype>

#include "auth/auth.hpp"
#include "crypto/crypto.hpp"
#include "handlers/handlers.hpp"
#include "http/errors.hpp"
#include "store/repo.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace amo::handlers {

using http::ApiError;
using http::Err;

namespace {
constexpr size_t kMaxField = 1024;

std::optional<std::string> field(const rapidjson::Document& d, const char* name) {
  auto v = json::get_string(d, name);
  if (v && v->size() > kMaxField)
    throw ApiError(Err::kInvalidParameter, std::string("Field '") + name + "' is too long");
  return v;
}

std::string connected_json(const std::string& domain, int64_t account_id) {
  return json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "connected", true);
    json::kv(w, "domain", domain);
    json::kv(w, "accountId", std::to_string(account_id));
    w.EndObject();
  });
}
}  // namespace

Response auth_url(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto s = oauth::create_state(ctx, user, "oauth");
  std::string url =
      ctx.cfg.amo_auth_url + (ctx.cfg.amo_auth_url.find('?') == std::string::npos ? "?" : "&") +
      "client_id=" + http::url_encode(ctx.cfg.amo_client_id) +
      "&state=" + http::url_encode(s.state) + "&mode=" + http::url_encode(ctx.cfg.amo_auth_mode);
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "url", url);
    json::kv(w, "state", s.state);
    json::kv(w, "expiresAt", log::iso8601(s.expires_at));
    w.EndObject();
  }));
}

Response exchange_code(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto body = json::parse_object(req.body);
  auto code = field(body, "code");
  auto state = field(body, "state");
  auto referer = field(body, "referer");
  if (!code || code->empty()) throw ApiError(Err::kMissingParameter, "Field 'code' is required");
  std::string host = ctx.cfg.amo_domain;
  if (referer && !referer->empty()) {
    if (!oauth::host_allowed(*referer, ctx.cfg.amo_allowed_domains))
      throw ApiError(Err::kInvalidReferer);
    host = *referer;
  }
  const std::string ch = oauth::digest(*code);
  // Already redeemed? Same user: the same answer, no amoCRM call. Another user: 409.
  auto prior = ctx.db.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::find_by_code(tx, ch);
  });
  if (prior) {
    if (prior->user_id != user) throw ApiError(Err::kCodeAlreadyUsed);
    return Response::ok(connected_json(prior->domain, prior->account_id.value_or(0)));
  }
  if (state && !state->empty()) {
    ctx.db.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto s = store::get_state(tx, oauth::digest(*state));
      if (!s || s->expired) throw ApiError(Err::kInvalidState);
      if (s->user_id != user)
        throw ApiError(Err::kForbidden, "This authorization belongs to another user");
      if (s->consumed && s->code_hash != ch) throw ApiError(Err::kInvalidState);
      if (!s->consumed) store::consume_state(tx, oauth::digest(*state), ch);
      tx.commit();
    });
  }
  try {
    auto conn = oauth::redeem_code(ctx, user, *code, host);
    return Response::ok(connected_json(conn.domain, conn.account_id));
  } catch (const ApiError& e) {
    if (e.err() == Err::kExchangeFailed) throw ApiError(Err::kAmoExchangeFailed);
    throw;
  }
}

Response disconnect(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  ctx.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto row = store::get_connection(tx, user);
    if (store::delete_connection(tx, user))
      store::audit(tx, "disconnect", user, row ? row->account_id : std::nullopt);
    tx.commit();
  });
  return Response::ok("{\"connected\":false}");
}

Response disconnect_hook(const Request& req, Context& ctx) {
  auto client_uuid = req.param("client_uuid");
  auto account_id = req.param("account_id");
  auto signature = req.param("signature");
  auto reject = [] { return ApiError(Err::kUnauthorized, "Invalid disconnect signature"); };
  if (!client_uuid || !account_id || !signature) throw reject();
  if (!crypto::constant_time_equal(*client_uuid, ctx.cfg.amo_client_id)) throw reject();
  std::string expected =
      crypto::hex(crypto::hmac_sha256(ctx.cfg.amo_client_secret, *client_uuid + "|" + *account_id));
  std::string given = *signature;
  for (char& ch : given) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!crypto::constant_time_equal(given, expected)) throw reject();
  if (account_id->empty() || account_id->size() > 18 ||
      account_id->find_first_not_of("0123456789") != std::string::npos)
    throw ApiError(Err::kInvalidParameter, "account_id must be a number");
  int64_t account = std::stoll(*account_id);
  auto removed = ctx.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto users = store::delete_account_connections(tx, account);
    for (auto& u : users) store::audit(tx, "hook_disconnect", u, account);
    tx.commit();
    return users.size();
  });
  log::info("amoCRM disconnected the integration", [&](json::Writer& w) {
    json::kv(w, "account_id", account);
    json::kv(w, "connections_removed", static_cast<int64_t>(removed));
  });
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "disconnected", static_cast<int64_t>(removed));
    w.EndObject();
  }));
}

}  // namespace amo::handlers
