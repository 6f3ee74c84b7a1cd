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

void render_db_metrics(Pool& pool, std::string& out) {
  render_pool_metrics(pool, out);
  auto metric = [&](const char* name, const char* type, const char* help,
                    const std::string& value) {
    Metrics::family(out, name, type, help);
    out += std::string(name) + " " + value + "\n";
  };
  // Read from PostgreSQL, shared by every process; left out when it does not answer.
  std::optional<ScrapeGauges> g;
  try {
    g = pool.with([](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      return scrape_gauges(tx, "refresh-due");
    });
  } catch (const std::exception&) {  // down, slow or the pool exhausted: amo_db_up 0
  }
  metric("amo_db_up", "gauge", "1 when the database answered this scrape.", g ? "1" : "0");
  if (!g) return;
  metric("amo_connections_needs_reauth", "gauge", "Connections awaiting re-authorization.",
         std::to_string(g->needs_reauth));
  if (g->last_success)
    metric("amo_refresh_due_last_success_timestamp_seconds", "gauge",
           "End of the last refresh-due run in which no refresh failed (refused grants are not "
           "failures).",
           std::to_string(*g->last_success));
  if (!g->last_run) return;
  metric("amo_refresh_due_last_run_timestamp_seconds", "gauge", "End of the last refresh-due run.",
         std::to_string(*g->last_run));
  Metrics::family(out, "amo_refresh_due_last_run_connections", "gauge",
                  "Connections the last refresh-due run found due, refreshed, refused by amoCRM "
                  "(reauth: the user must connect again), failed.");
  for (auto [result, n] : {std::pair<const char*, int64_t>{"due", g->last_due},
                           {"refreshed", g->last_refreshed},
                           {"reauth", g->last_reauth},
                           {"failed", g->last_failed}})
    out += std::string("amo_refresh_due_last_run_connections{result=\"") + result + "\"} " +
           std::to_string(n) + "\n";
}

}  // namespace amo::store
