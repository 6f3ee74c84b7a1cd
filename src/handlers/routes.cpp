// The route table: every endpoint, under both prefixes (SPEC §2).
#include "app/app.hpp"
#include "handlers/handlers.hpp"

namespace amo {

void register_routes(http::Router& r) {
  using namespace handlers;
  r.exact("GET", "/healthz", "/healthz", healthz);
  r.exact("GET", "/readyz", "/readyz", readyz);
  r.exact("GET", "/metrics", "/metrics", metrics);
  r.api("GET", "/status", status);
  r.api("GET", "/auth-url", auth_url);
  r.api("GET", "/callback", callback);
  r.api("POST", "/exchange-code", exchange_code);
  r.api("POST", "/disconnect", disconnect);
  r.api("GET", "/disconnect", disconnect_hook);
  r.api("GET", "/leads", leads);
  r.api("GET", "/pipelines", pipelines);
  r.api("GET", "/test", test);
  r.api("POST", "/exchange-api-key", exchange_api_key);
}

}  // namespace amo
