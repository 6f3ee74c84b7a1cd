// The route table: every endpoint, under both API prefixes; the context is bound here.
#include "app/app.hpp"
#include "handlers/handlers.hpp"

namespace amo {

void register_routes(http::Router& r, Context& ctx) {
  using namespace handlers;
  auto bind = [&ctx](Response (*h)(const Request&, Context&)) {
    return [h, &ctx](const Request& req) { return h(req, ctx); };
  };
  r.exact("GET", "/healthz", "/healthz", bind(healthz));
  r.exact("GET", "/readyz", "/readyz", bind(readyz));
  r.exact("GET", "/metrics", "/metrics", bind(metrics));
  r.api("GET", "/status", bind(status));
  r.api("GET", "/auth-url", bind(auth_url));
  r.api("GET", "/callback", bind(callback), [&ctx](const Request& req, http::ErrorView e) {
    return callback_error(req, ctx, std::move(e));
  });
  r.api("POST", "/exchange-code", bind(exchange_code));
  r.api("POST", "/disconnect", bind(disconnect));
  r.api("GET", "/disconnect", bind(disconnect_hook));
  r.api("GET", "/leads", bind(leads));
  r.api("GET", "/pipelines", bind(pipelines));
  r.api("GET", "/test", bind(test));
  r.api("POST", "/exchange-api-key", bind(exchange_api_key));
}

}  // namespace amo
