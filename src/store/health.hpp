#pragma once
// The database's health for /readyz and /metrics, without exposing pqxx to handlers.
#include <string>

namespace amo::store {

class Pool;

// One round trip; throws core::Error(kDbUnavailable) when the database cannot answer.
void check_ready(Pool& pool);
// Appends the pool's gauges and counters in Prometheus text format.
void render_pool_metrics(const Pool& pool, std::string& out);
// The pool's, then what the database knows (amo_db_up, needs-reauth connections, the last
// refresh-due runs); a database that does not answer is amo_db_up 0, never a failed scrape.
void render_db_metrics(Pool& pool, std::string& out);

}  // namespace amo::store
