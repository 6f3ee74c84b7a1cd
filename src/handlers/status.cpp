// GET …/status
#include "auth/auth.hpp"
#include "handlers/handlers.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::handlers {

namespace {
std::optional<std::string> iso(const std::optional<int64_t>& t) {
  if (!t) return std::nullopt;
  return log::iso8601(*t);
}
}  // namespace

Response status(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto row = ctx.db.with([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);  // one statement: no BEGIN/COMMIT round trips
    return store::get_status(tx, user);
  });
  bool has = row && row->has_tokens;
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "connected", has && !row->needs_reauth);
    json::kv(w, "hasTokens", has);
    json::kv(w, "domain", row ? std::optional<std::string>(row->domain) : std::nullopt);
    json::kv(w, "accountId",
             row && row->account_id ? std::optional<std::string>(std::to_string(*row->account_id))
                                    : std::nullopt);
    json::kv(w, "accountName", row ? row->account_name : std::nullopt);
    json::kv(w, "needsReauth", row ? row->needs_reauth : false);
    json::kv(w, "expiresAt", row ? iso(row->expires_at) : std::nullopt);
    json::kv(w, "lastRefreshAt", row ? iso(row->last_refresh_at) : std::nullopt);
    w.EndObject();
  }));
}

}  // namespace amo::handlers
