#include "app/app.hpp"

#include <chrono>

#include "crypto/crypto.hpp"
#include "http/errors.hpp"
#include "util/log.hpp"

namespace amo {

namespace {
bool is_json(const std::string& ct) {
  auto semi = ct.find(';');
  std::string base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (char& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return base == "application/json";
}
}  // namespace

App::App(Context& ctx) : ctx_(ctx) { register_routes(router_); }

http::Response App::handle(http::Request& req, bool too_large) {
  auto start = std::chrono::steady_clock::now();
  ctx_.metrics.begin_request();
  if (req.request_id.empty()) req.request_id = crypto::hex(crypto::random_bytes(8));
  log::take_upstream();  // start this request's list of amoCRM calls empty
  auto match = router_.match(req.method, req.path);
  http::Response resp;
  try {
    if (!match.handler && match.allow.empty()) throw http::ApiError(http::Err::kNotFound);
    if (!match.handler) {
      http::ApiError e(http::Err::kMethodNotAllowed, "Method " + req.method.substr(0, 16) +
                                                         " is not allowed; use " + match.allow);
      e.headers.emplace_back("Allow", match.allow);
      throw e;
    }
    if (too_large) throw http::ApiError(http::Err::kPayloadTooLarge);
    if (!req.body.empty() && !is_json(req.header("content-type").value_or("")))
      throw http::ApiError(http::Err::kUnsupportedMediaType);
    resp = (*match.handler)(req, ctx_);
  } catch (const http::ApiError& e) {
    resp = http::error_response(e);
  } catch (const pqxx::broken_connection&) {
    resp = http::error_response(http::ApiError(http::Err::kDbUnavailable, {}, 2));
  } catch (const pqxx::sql_error& e) {
    // lock_timeout / statement_timeout: the database is busy, not broken; anything else
    // is our bug. Neither SQL nor its text reaches the client.
    bool busy = e.sqlstate() == "55P03" || e.sqlstate() == "57014";
    log::error(busy ? "database busy" : "database error", [&](json::Writer& w) {
      json::kv(w, "request_id", req.request_id);
      json::kv(w, "route", match.route);
      json::kv(w, "sqlstate", e.sqlstate());
    });
    resp = http::error_response(
        busy ? http::ApiError(http::Err::kDbUnavailable, "The database is busy; retry later", 1)
             : http::ApiError(http::Err::kInternal));
  } catch (const std::exception& e) {
    log::error("unhandled error", [&](json::Writer& w) {
      json::kv(w, "request_id", req.request_id);
      json::kv(w, "route", match.route);
      json::kv(w, "error_type", std::string_view(typeid(e).name()));
    });
    resp = http::error_response(http::Err::kInternal);
  } catch (...) {
    resp = http::error_response(http::Err::kInternal);
  }
  resp.set_header("X-Request-Id", req.request_id);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ctx_.metrics.request(match.route, match.handler ? req.method : "other", resp.status, secs);
  ctx_.metrics.end_request();
  if (log::enabled(LogLevel::kInfo)) {
    log::info("request", [&](json::Writer& w) {
      json::kv(w, "request_id", req.request_id);
      json::kv(w, "method", req.method.substr(0, 16));
      json::kv(w, "route", match.route);
      json::kv(w, "status", static_cast<int64_t>(resp.status));
      w.Key("duration_ms");
      w.Double(secs * 1000);
      auto calls = log::take_upstream();
      if (!calls.empty()) {
        w.Key("upstream");
        w.StartArray();
        for (auto& c : calls) {
          w.StartObject();
          json::kv(w, "endpoint", c.endpoint);
          json::kv(w, "status", static_cast<int64_t>(c.status));
          w.Key("duration_ms");
          w.Double(c.ms);
          w.EndObject();
        }
        w.EndArray();
      }
    });
  }
  return resp;
}

}  // namespace amo
