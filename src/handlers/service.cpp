// GET /healthz, /readyz, /metrics
#include "app/metrics.hpp"
#include "handlers/handlers.hpp"
#include "store/health.hpp"

namespace amo::handlers {

Response healthz(const Request&, Context&) { return Response::ok("{\"status\":\"ok\"}"); }

Response readyz(const Request&, Context& ctx) {
  store::check_ready(ctx.db);
  return Response::ok("{\"status\":\"ready\"}");
}

Response metrics(const Request&, Context& ctx) {
  auto body = ctx.metrics.render([&](std::string& out) { store::render_db_metrics(ctx.db, out); });
  return Response::text(200, std::move(body), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace amo::handlers
