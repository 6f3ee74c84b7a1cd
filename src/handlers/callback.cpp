// GET …/callback — amoCRM's redirect target (browser: HTML page; from_exchange=1: JSON).
// The code is exchanged and the tokens stored before any page is rendered.
#include "config/config.hpp"
#include "core/host.hpp"
#include "handlers/handlers.hpp"
#include "oauth/connect.hpp"
#include "render/pages.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace amo::handlers {

using core::Error;
using core::Fault;

namespace {

constexpr size_t kMaxParam = 1024;

// The request's checks, in the order the browser should hear about them, then the one
// redemption path. Everything thrown is a core::Error.
void run_callback(const Request& req, Context& ctx, const std::string& state) {
  auto code = req.param("code");
  auto client_id = req.param("client_id");
  auto referer = req.param("referer");
  if (req.param("error")) throw Error(Fault::kAccessDenied);
  if (client_id && *client_id != ctx.cfg.amo_client_id) throw Error(Fault::kInvalidClient);
  // No usable code: none, or longer than any amoCRM issues (the request's fault, not amoCRM's).
  if (!code || code->empty() || code->size() > kMaxParam) throw Error(Fault::kMissingCode);
  if (state.empty() || state.size() > kMaxParam) throw Error(Fault::kInvalidState);
  // The token endpoint host comes from `referer`: check it before anything leaves.
  oauth::Grant g{*code, state, ctx.cfg.amo_domain};
  if (referer) {
    auto host = core::allowed_host(*referer, ctx.cfg.amo_allowed_domains);
    if (!host) throw Error(Fault::kInvalidReferer);
    g.host = *host;
  }
  oauth::redeem(ctx, g, std::nullopt);
}

const char* variant_of(Fault f) {
  if (f == Fault::kExchangeUnavailable || f == Fault::kRedemptionInProgress) return "unavailable";
  if (f == Fault::kExchangeTimedOut) return "timeout";
  return "";
}

Response with_page_headers(Response r, const Context& ctx) {
  for (auto& [k, v] : ctx.pages.headers()) r.set_header(k, v);
  return r;
}

}  // namespace

Response callback(const Request& req, Context& ctx) {
  std::string state = req.param("state").value_or("");
  try {
    run_callback(req, ctx, state);
  } catch (const Error& e) {
    throw Error(oauth::callback_fault(e.fault()), {}, e.retry_after());
  }
  if (req.param("from_exchange").value_or("") == "1") {
    Response r = Response::json(200, json::write([](json::Writer& w) {
                                  w.StartObject();
                                  json::kv(w, "success", true);
                                  json::kv(w, "message", "AMO CRM successfully connected");
                                  json::kv(w, "status", "success");
                                  json::kv(w, "fromExchange", true);
                                  w.EndObject();
                                }));
    r.set_header("Cache-Control", "no-store");
    return r;
  }
  auto page = ctx.pages.success(render::choose_language(req.header("accept-language").value_or("")),
                                ctx.cfg.app_deep_link, state);
  return with_page_headers(Response::html(200, std::move(page.html)), ctx);
}

Response callback_error(const Request& req, Context& ctx, http::ErrorView e) {
  e.json.set_header("Cache-Control", "no-store");
  if (req.param("from_exchange").value_or("") == "1") return std::move(e.json);
  // Only a state of sane size is echoed back into the deep link.
  std::string state = req.param("state").value_or("");
  if (state.size() > kMaxParam) state.clear();
  auto page = ctx.pages.error(render::choose_language(req.header("accept-language").value_or("")),
                              ctx.cfg.app_deep_link, e.code, state, variant_of(e.fault));
  Response html = with_page_headers(Response::html(e.status, std::move(page.html)), ctx);
  if (auto ra = e.json.header("Retry-After")) html.set_header("Retry-After", *ra);
  return html;
}

}  // namespace amo::handlers
