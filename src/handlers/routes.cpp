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
}

}  // namespace amo
