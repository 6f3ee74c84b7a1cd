#pragma once
// Every amoCRM API call on behalf of a user goes through here: a valid token (oauth/tokens),
// per-account pacing shared through PostgreSQL, one refresh after a 401, one retry after a
// 429, and the policy for every other answer.
#include <string>

#include "amo/client.hpp"
#include "core/services.hpp"

namespace amo::amo_api {

// Waits for this account's next request slot (AMO_RATE_LIMIT_RPS across all workers and
// hosts); kRateLimited with Retry-After when the wait would exceed AMO_RATE_LIMIT_MAX_WAIT_MS.
// `host` must be normalized (lower case): one account, one bucket.
void pace(Services& svc, const std::string& host);

// The pacing interval for a rate: 20 % under the limit, plus 10 ms of slack.
int64_t pacing_step_ms(double rps);

// GET an amoCRM API path for the user. Returns 200/204 answers; throws AmoError for the
// rest (after the one refresh / one retry), kNotConnected / kReauthRequired when the user
// has no usable connection.
ApiResponse api_get(Services& svc, const std::string& user, const std::string& path_and_query,
                    const char* label);

}  // namespace amo::amo_api
