// GET …/auth-url, POST …/exchange-code, GET …/status, POST …/disconnect,
// GET …/disconnect (amoCRM's hook)
#include "oauth/connect.hpp"

#include "auth/auth.hpp"
#include "config/config.hpp"
#include "core/host.hpp"
#include "core/time.hpp"
#include "handlers/handlers.hpp"
#include "http/input.hpp"
#include "oauth/connections.hpp"
#include "util/json.hpp"

namespace amo::handlers {

using core::Error;
using core::Fault;

namespace {
constexpr size_t kMaxField = 1024;

std::optional<std::string> iso(const std::optional<int64_t>& t) {
  if (!t) return std::nullopt;
  return core::iso8601(*t);
}
}  // namespace

Response auth_url(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto s = oauth::create_state(ctx, user, "oauth");
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "url", s.url);
    json::kv(w, "state", s.state);
    json::kv(w, "expiresAt", core::iso8601(s.expires_at));
    w.EndObject();
  }));
}

Response exchange_code(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  http::JsonBody body(req.body);
  oauth::Grant g;
  g.code = body.required_text("code", kMaxField);
  g.state = body.text("state", kMaxField);
  if (g.state && g.state->empty()) g.state.reset();
  g.host = ctx.cfg.amo_domain;
  // Up to kMaxField like the other fields; anything but an allowed host name (a URL, a
  // host over 253 bytes) is then invalid_referer, as in the callback.
  if (auto referer = body.text("referer", kMaxField); referer && !referer->empty()) {
    auto host = core::allowed_host(*referer, ctx.cfg.amo_allowed_domains);
    if (!host) throw Error(Fault::kInvalidReferer);
    g.host = *host;
  }
  auto conn = oauth::redeem(ctx, g, user);
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "connected", true);
    json::kv(w, "domain", conn.domain);
    json::kv(w, "accountId", std::to_string(conn.account_id));
    w.EndObject();
  }));
}

Response status(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto s = oauth::status(ctx, user);
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "connected", s.connected());
    json::kv(w, "hasTokens", s.has_tokens);
    json::kv(w, "domain", s.exists ? std::optional<std::string>(s.domain) : std::nullopt);
    json::kv(
        w, "accountId",
        s.account_id ? std::optional<std::string>(std::to_string(*s.account_id)) : std::nullopt);
    json::kv(w, "accountName", s.account_name);
    json::kv(w, "needsReauth", s.needs_reauth);
    json::kv(w, "expiresAt", iso(s.expires_at));
    json::kv(w, "lastRefreshAt", iso(s.last_refresh_at));
    w.EndObject();
  }));
}

Response disconnect(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  oauth::disconnect(ctx, user);
  return Response::ok("{\"connected\":false}");
}

Response disconnect_hook(const Request& req, Context& ctx) {
  int64_t account = oauth::verify_hook(ctx.cfg, req.param("client_uuid"), req.param("account_id"),
                                       req.param("signature"));
  size_t removed = oauth::hook_disconnect(ctx, account);
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "disconnected", static_cast<int64_t>(removed));
    w.EndObject();
  }));
}

}  // namespace amo::handlers
