#pragma once
// The periodic jobs: keep refresh tokens alive (refresh-due) and re-encrypt stored tokens
// under the current key (rotate-keys). The CLI only parses argv and prints the result.
#include <cstddef>

#include "core/services.hpp"

namespace amo::oauth {

struct RefreshDueResult {
  size_t due = 0, refreshed = 0;
  size_t reauth = 0;        // amoCRM refused the refresh token: marked needsReauth (expected)
  size_t failed = 0;        // amoCRM or the database failed: the connection is unchanged
  size_t store_purged = 0;  // stored leads answers past LEADS_STORE_MAX_AGE_S or the cap
};
// Refreshes, through the same single-flight path as requests, every connection whose last
// refresh is older than AMO_KEEPALIVE_DAYS; at most `concurrency` refreshes at a time.
// First purges the leads store of expired entries and enforces its global cap. The run
// failed when `failed` > 0; a refused grant is the user's doing, counted in `reauth`.
RefreshDueResult refresh_due(Services& svc, int concurrency);

struct RotateResult {
  size_t rewrapped = 0, unreadable = 0;
  size_t store_removed = 0;
};
// Re-encrypts every stored pair not under the current TOKEN_ENCRYPTION_KEY (conditional
// writes: a pair refreshed meanwhile is already under the current key). Stored leads
// answers under another key are removed instead (they are fetched again on demand).
RotateResult rotate_keys(Services& svc);

}  // namespace amo::oauth
