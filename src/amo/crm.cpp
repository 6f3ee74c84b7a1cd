#include "amo/crm.hpp"

#include <chrono>

#include "amo/gateway.hpp"
#include "amo/parse.hpp"
#include "amo/response_store.hpp"
#include "core/time.hpp"

namespace amo::amo_api {

Fetched leads(Services& svc, const std::string& user, const LeadsQuery& q) {
  return serve_stored(svc, user, leads_key(q), [&] {
    auto r = api_get(svc, user, leads_path(q), "api/v4/leads");
    auto m = map_leads(r.status, r.body);
    return Fetched{std::move(m.leads_json), m.has_more, core::now_s(), false, {}};
  });
}

Fetched pipelines(Services& svc, const std::string& user) {
  return serve_stored(svc, user, pipelines_key(), [&] {
    auto r = api_get(svc, user, kPipelinesPath, "api/v4/leads/pipelines");
    return Fetched{map_pipelines(r.status, r.body), false, core::now_s(), false, {}};
  });
}

AccountCheck test_connection(Services& svc, const std::string& user) {
  auto start = std::chrono::steady_clock::now();
  auto r = api_get(svc, user, "/api/v4/account", "api/v4/account");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  if (r.status != 200)
    throw AmoError(Failure::kGarbage, r.status, "account answered without a body");
  return AccountCheck{parse_account(r.body), static_cast<int64_t>(ms)};
}

}  // namespace amo::amo_api
