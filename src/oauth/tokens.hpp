#pragma once
// Every amoCRM API call goes through here: a valid access token (refreshed under the
// connection's row lock, one refresh in flight per connection across all threads,
// processes and hosts), per-account pacing shared through PostgreSQL, one refresh after a
// 401 and one retry after a 429.
#include <cstdint>
#include <string>

#include "amo/client.hpp"
#include "app/context.hpp"

namespace amo::oauth {

inline constexpr int kRefreshMarginS = 300;  // refresh when the token expires within 5 min

struct Session {
  std::string user_id;
  std::string host;
  int64_t account_id = 0;
  std::string access_token;
  int64_t token_version = 0;
  int64_t expires_at = 0;
};

// A usable session for the user: 409 not_connected / reauthorization_required otherwise.
Session session(Context& ctx, const std::string& user);

// Refreshes the user's tokens unless another worker already did (token_version moved on
// from `seen_version`) or, without `force`, unless the token is still fresh. Waits a
// bounded time for a refresh in flight elsewhere.
Session refresh(Context& ctx, const std::string& user, int64_t seen_version, bool force);

// Waits for this account's next request slot (AMO_RATE_LIMIT_RPS across all workers);
// 429 rate_limited with Retry-After when the wait would exceed AMO_RATE_LIMIT_MAX_WAIT_MS.
void pace(Context& ctx, const std::string& host);

// GET an amoCRM API path for the user with pacing, refresh-on-401 and one 429 retry.
// Returns 2xx answers (and 4xx other than 401/403/429) to the caller; maps the rest to
// ApiError (409/429/502/503/504).
amo_api::ApiResponse api_get(Context& ctx, const std::string& user,
                             const std::string& path_and_query, const char* label);

// Encrypts a token pair for storage (AAD binds each value to its user and column).
struct Sealed {
  std::string access, refresh, key_id;
};
Sealed seal(const Context& ctx, const std::string& user, const std::string& access,
            const std::string& refresh);
std::string open_access(const Context& ctx, const std::string& user, const std::string& blob,
                        const std::string& key_id);
std::string open_refresh(const Context& ctx, const std::string& user, const std::string& blob,
                         const std::string& key_id);

}  // namespace amo::oauth
