#include "store/health.hpp"

#include "app/metrics.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"

namespace amo::store {

void check_ready(Pool& pool) {
  pool.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    ping(tx);
  });
}

void render_pool_metrics(const Pool& pool, std::string& out) {
  auto s = pool.stats();
  auto metric = [&](const char* name, const char* type, const char* help,
                    const std::string& value) {
    Metrics::family(out, name, type, help);
    out += std::string(name) + " " + value + "\n";
  };
  metric("amo_db_pool_size", "gauge", "Configured maximum of pooled connections.",
         std::to_string(s.size));
  metric("amo_db_pool_open", "gauge", "Open pooled connections.", std::to_string(s.open));
  metric("amo_db_pool_in_use", "gauge", "Leased pooled connections.", std::to_string(s.in_use));
  metric("amo_db_pool_waits_total", "counter", "Acquisitions that had to wait.",
         std::to_string(s.waits));
  metric("amo_db_pool_wait_seconds_total", "counter", "Time spent waiting for a connection.",
         std::to_string(s.wait_seconds_total));
  metric("amo_db_pool_timeouts_total", "counter", "Acquisitions that timed out.",
         std::to_string(s.timeouts));
  metric("amo_db_pool_broken_total", "counter", "Connections dropped as broken.",
         std::to_string(s.broken));
}

}  // namespace amo::store
