#include "amo/gateway.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "amo/parse.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "oauth/tokens.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"

namespace amo::amo_api {

namespace {
void sleep_ms(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
}  // namespace

int64_t pacing_step_ms(double rps) {
  const double r = rps > 0 ? rps : 1.0;  // the configuration refuses 0; never divide by it
  return static_cast<int64_t>(std::ceil(1000.0 / r * 1.2)) + 10;
}

void pace(Services& svc, const std::string& host) {
  const int64_t step_ms = pacing_step_ms(svc.cfg.amo_rate_limit_rps);
  const int64_t max_wait = svc.cfg.amo_rate_limit_max_wait_ms;
  // One statement (an upsert with RETURNING), atomic by itself: autocommit saves the
  // BEGIN and COMMIT round trips of a transaction around it.
  auto wait = svc.db.with([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return store::reserve_slot(tx, "amo:" + host, step_ms, max_wait);
  });
  if (!wait)
    throw core::Error(core::Fault::kRateLimited,
                      "Too many amoCRM requests for this account; retry later",
                      static_cast<int>(std::max<int64_t>(1, (max_wait + 999) / 1000)));
  if (*wait > 0) sleep_ms(*wait);
}

ApiResponse api_get(Services& svc, const std::string& user, const std::string& path_and_query,
                    const char* label) {
  oauth::Session s = oauth::session(svc, user);
  bool refreshed = false, retried_429 = false;
  for (;;) {
    pace(svc, s.host);
    ApiResponse r = svc.amo.get(s.host, path_and_query, s.access_token, label);
    if (r.status == 401 && !refreshed) {
      refreshed = true;
      s = oauth::refresh(svc, user, s.token_version, /*force=*/true);
      continue;
    }
    if (r.status == 429 && !retried_429) {
      retried_429 = true;
      sleep_ms(static_cast<int64_t>(std::min(r.retry_after.value_or(1), 3)) * 1000);
      continue;
    }
    auto failure = api_failure(r.status);
    if (!failure) return r;
    throw AmoError(*failure, r.status, std::string(label) + " answered " + std::to_string(r.status),
                   problem_text(r.body), r.retry_after);
  }
}

}  // namespace amo::amo_api
