#include "app/app.hpp"

#include <chrono>
#include <pqxx/pqxx>

#include "app/metrics.hpp"
#include "core/text.hpp"
#include "crypto/crypto.hpp"
#include "http/errors.hpp"
#include "http/input.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace amo {

using core::Error;
using core::Fault;

namespace {

bool is_json(const std::string& ct) {
  std::string base = core::ascii_lower(ct.substr(0, ct.find(';')));
  while (!base.empty() && (base.back() == ' ' || base.back() == '	')) base.pop_back();
  return base == "application/json";
}

void log_failure(const char* what, const http::Request& req, const std::string& route,
                 const std::function<void(json::Writer&)>& more) {
  log::error(what, [&](json::Writer& w) {
    json::kv(w, "request_id", req.request_id);
    json::kv(w, "route", route);
    more(w);
  });
}

// Every exception a handler can let out, as the core::Error it stands for. Neither SQL nor
// its text, nor an exception's text, reaches the client.
Error as_error(const http::Request& req, const std::string& route) {
  try {
    throw;
  } catch (const Error& e) {
    return e;
  } catch (const pqxx::broken_connection&) {
    return Error(Fault::kDbUnavailable, {}, 2);
  } catch (const pqxx::sql_error& e) {
    // lock_timeout / statement_timeout: the database is busy, not broken; anything else is
    // our bug.
    bool busy = e.sqlstate() == "55P03" || e.sqlstate() == "57014";
    log_failure(busy ? "database busy" : "database error", req, route,
                [&](json::Writer& w) { json::kv(w, "sqlstate", e.sqlstate()); });
    return busy ? Error(Fault::kDbBusy, {}, 1) : Error(Fault::kInternal);
  } catch (const std::exception& e) {
    log_failure("unhandled error", req, route, [&](json::Writer& w) {
      json::kv(w, "error_type", std::string_view(typeid(e).name()));
    });
    return Error(Fault::kInternal);
  } catch (...) {
    log_failure("unhandled error", req, route, [](json::Writer&) {});
    return Error(Fault::kInternal);
  }
}

void log_request(const http::Request& req, const std::string& route, int status, double secs) {
  log::info("request", [&](json::Writer& w) {
    json::kv(w, "request_id", req.request_id);
    json::kv(w, "method", std::string_view(req.method).substr(0, 16));
    json::kv(w, "route", route);
    json::kv(w, "status", static_cast<int64_t>(status));
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

}  // namespace

App::App(Context& ctx) : ctx_(ctx) { register_routes(router_, ctx_); }

http::Response App::handle(http::Request& req, bool too_large) {
  auto start = std::chrono::steady_clock::now();
  ctx_.metrics.begin_request();
  if (req.request_id.empty()) req.request_id = crypto::hex(crypto::random_bytes(8));
  log::take_upstream();  // start this request's list of amoCRM calls empty
  auto match = router_.match(req.method, req.path);
  http::Response resp;
  if (!match.handler && !match.allow.empty()) {
    resp =
        http::error_response(Fault::kMethodNotAllowed, "Method " + req.method.substr(0, 16) +
                                                           " is not allowed; use " + match.allow);
    resp.set_header("Allow", match.allow);
  } else {
    bool in_handler = false;  // a route's own error page is for its handler's outcomes only
    try {
      if (!match.handler) throw Error(Fault::kNotFound);
      if (too_large) throw Error(Fault::kPayloadTooLarge);
      // One rule for bodies on every endpoint: a body, when there is one, is a JSON object.
      if (!req.body.empty()) {
        if (!is_json(req.header("content-type").value_or("")))
          throw Error(Fault::kUnsupportedMediaType);
        http::JsonBody check(req.body);
      }
      in_handler = true;
      resp = (*match.handler)(req);
    } catch (...) {
      Error e = as_error(req, match.route);
      resp = http::error_response(e);
      if (match.on_error && in_handler) {
        const http::ErrInfo& i = http::info(e.fault());
        try {
          resp = (*match.on_error)(req, http::ErrorView{e.fault(), i.status, i.code, resp});
        } catch (...) {
          as_error(req, match.route);  // logged; the JSON answer stands
        }
      }
    }
  }
  resp.set_header("X-Request-Id", req.request_id);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ctx_.metrics.request(match.route, match.handler ? req.method : "other", resp.status, secs);
  ctx_.metrics.end_request();
  if (log::enabled(LogLevel::kInfo)) log_request(req, match.route, resp.status, secs);
  return resp;
}

}  // namespace amo
