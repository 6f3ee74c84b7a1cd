// GET /healthz, /readyz, /metrics
#include "handlers/handlers.hpp"
#include "http/errors.hpp"

namespace amo::handlers {

Response healthz(const Request&, Context&) { return Response::ok("{\"status\":\"ok\"}"); }

Response readyz(const Request&, Context& ctx) {
  ctx.db.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec("SELECT 1");
  });
  return Response::ok("{\"status\":\"ready\"}");
}

Response metrics(const Request&, Context& ctx) {
  auto body = ctx.metrics.render([&](std::string& out) {
    auto s = ctx.db.stats();
    out += "# HELP amo_db_pool_size Configured maximum of pooled connections.\n# TYPE amo_db_pool_size gauge\n";
    out += "amo_db_pool_size " + std::to_string(s.size) + "\n";
    out += "# HELP amo_db_pool_open Open pooled connections.\n# TYPE amo_db_pool_open gauge\n";
    out += "amo_db_pool_open " + std::to_string(s.open) + "\n";
    out += "# HELP amo_db_pool_in_use Leased pooled connections.\n# TYPE amo_db_pool_in_use gauge\n";
    out += "amo_db_pool_in_use " + std::to_string(s.in_use) + "\n";
    out += "# HELP amo_db_pool_waits_total Acquisitions that had to wait.\n# TYPE amo_db_pool_waits_total counter\n";
    out += "amo_db_pool_waits_total " + std::to_string(s.waits) + "\n";
    out += "# HELP amo_db_pool_wait_seconds_total Time spent waiting for a connection.\n# TYPE amo_db_pool_wait_seconds_total counter\n";
    out += "amo_db_pool_wait_seconds_total " + std::to_string(s.wait_seconds_total) + "\n";
    out += "# HELP amo_db_pool_timeouts_total Acquisitions that timed out.\n# TYPE amo_db_pool_timeouts_total counter\n";
    out += "amo_db_pool_timeouts_total " + std::to_string(s.timeouts) + "\n";
    out += "# HELP amo_db_pool_broken_total Connections dropped as broken.\n# TYPE amo_db_pool_broken_total counter\n";
    out += "amo_db_pool_broken_total " + std::to_string(s.broken) + "\n";
  });
  return Response::text(200, std::move(body), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace amo::handlers
