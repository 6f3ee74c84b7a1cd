// GET …/leads, GET …/pipelines, GET …/test, POST …/exchange-api-key
#include "amo/crm.hpp"

#include "auth/auth.hpp"
#include "config/config.hpp"
#include "core/time.hpp"
#include "crypto/crypto.hpp"
#include "handlers/handlers.hpp"
#include "http/input.hpp"
#include "oauth/api_key.hpp"
#include "util/json.hpp"

namespace amo::handlers {

using http::bad_param;
using http::int_param;

namespace {

constexpr int64_t kMaxId = INT64_C(999999999999);

amo_api::LeadsQuery leads_query(const Request& req) {
  amo_api::LeadsQuery q;
  q.page = int_param(req, "page", 1, 100000).value_or(1);
  q.limit = int_param(req, "limit", 1, 250).value_or(50);
  q.pipeline_id = int_param(req, "pipeline_id", 1, kMaxId);
  q.status_id = int_param(req, "status_id", 1, kMaxId);
  q.responsible_user_id = int_param(req, "responsible_user_id", 1, kMaxId);
  if (q.status_id && !q.pipeline_id) bad_param("status_id", "needs pipeline_id");
  q.query = http::text_param(req, "query", 200).value_or("");
  for (auto [name, out] :
       {std::pair{"created_from", &q.created_from}, std::pair{"created_to", &q.created_to}}) {
    if (auto v = req.param(name)) {
      *out = core::parse_time(*v);
      if (!*out) bad_param(name, "must be an ISO 8601 date-time or unix seconds");
    }
  }
  if (q.created_from && q.created_to && *q.created_from > *q.created_to)
    bad_param("created_from", "must not be after created_to");
  std::string order = req.param("order").value_or("created_at:desc");
  auto colon = order.find(':');
  q.order_field = order.substr(0, colon);
  q.order_dir = colon == std::string::npos ? "desc" : order.substr(colon + 1);
  if (q.order_field != "created_at" && q.order_field != "updated_at" && q.order_field != "id")
    bad_param("order", "must be created_at, updated_at or id, optionally with :asc or :desc");
  if (q.order_dir != "asc" && q.order_dir != "desc")
    bad_param("order", "direction must be asc or desc");
  return q;
}

// A CRM list answer: its data, an ETag over the content (not over when it was fetched), and
// 304 when the app already holds that content.
Response crm_answer(const Request& req, const amo_api::Fetched& f, const char* key,
                    const std::function<void(json::Writer&)>& extra) {
  std::string etag = "\"" +
                     crypto::sha256_hex(f.items_json + (f.has_more ? "+" : "-") +
                                        json::write([&](json::Writer& w) {
                                          w.StartObject();
                                          extra(w);
                                          w.EndObject();
                                        }))
                         .substr(0, 32) +
                     "\"";
  Response r;
  auto inm = req.header("if-none-match");
  if (inm && (inm->find(etag) != std::string::npos || *inm == "*")) {
    r.status = 304;
  } else {
    r = Response::ok(json::write([&](json::Writer& w) {
      w.StartObject();
      w.Key(key);
      w.RawValue(f.items_json.data(), f.items_json.size(), rapidjson::kArrayType);
      extra(w);
      json::kv(w, "fetchedAt", core::iso8601(f.fetched_at));
      json::kv(w, "stale", f.stale);
      if (f.stale) json::kv(w, "staleReason", f.stale_reason);
      w.EndObject();
    }));
  }
  r.set_header("ETag", etag);
  r.set_header("Cache-Control", "private, no-cache");
  return r;
}

}  // namespace

Response leads(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  amo_api::LeadsQuery q = leads_query(req);
  auto f = amo_api::leads(ctx, user, q);
  return crm_answer(req, f, "leads", [&](json::Writer& w) {
    json::kv(w, "page", q.page);
    json::kv(w, "limit", q.limit);
    json::kv(w, "hasMore", f.has_more);
  });
}

Response pipelines(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto f = amo_api::pipelines(ctx, user);
  return crm_answer(req, f, "pipelines", [](json::Writer&) {});
}

Response test(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto check = amo_api::test_connection(ctx, user);
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "connected", true);
    json::kv(w, "accountId", std::to_string(check.account.id));
    json::kv(w, "accountName", check.account.name);
    json::kv(w, "subdomain", check.account.subdomain);
    json::kv(w, "latencyMs", check.latency_ms);
    w.EndObject();
  }));
}

Response exchange_api_key(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  http::JsonBody body(req.body);
  std::string login = body.required_text("login", 256);
  std::string api_key = body.required_text("api_key", 512);
  body.text("state", 1024);  // accepted for older apps; the server makes its own state
  oauth::request_api_key_exchange(ctx, user, login, api_key);
  return Response::json(202, json::write([](json::Writer& w) {
                          w.StartObject();
                          json::kv(w, "success", true);
                          json::kv(w, "message", "API key exchange request accepted");
                          json::kv(w, "status", "accepted");
                          json::kv(w, "note", "Authorization code will be sent to redirect URI");
                          w.EndObject();
                        }));
}

}  // namespace amo::handlers
