#pragma once
// The user's CRM data, as the app's endpoints serve it.
#include <cstdint>
#include <string>

#include "amo/client.hpp"
#include "amo/leads.hpp"
#include "core/services.hpp"

namespace amo::amo_api {

struct Fetched {
  std::string items_json;  // the mapped JSON array (leads or pipelines)
  bool has_more = false;   // leads only
  int64_t fetched_at = 0;  // when amoCRM produced it (unix seconds)
  bool stale = false;      // served from the store because amoCRM failed
  std::string stale_reason;
};

// Through the leads store (amo/response_store.hpp): fresh stored answers without an amoCRM
// call, one call for identical concurrent requests, stale answers when amoCRM fails.
Fetched leads(Services& svc, const std::string& user, const LeadsQuery& q);
Fetched pipelines(Services& svc, const std::string& user);

struct AccountCheck {
  Account account;
  int64_t latency_ms = 0;
};
// A live check: a valid token (refreshed if needed), then GET /api/v4/account.
AccountCheck test_connection(Services& svc, const std::string& user);

}  // namespace amo::amo_api
