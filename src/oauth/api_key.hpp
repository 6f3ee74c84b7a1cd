#pragma once
// The API-key exchange: amoCRM is asked to send an authorization code for a login and API
// key to our callback (with a state bound to the user); once per 5 minutes per user and
// per login across every worker and host. The API key is never stored or logged.
#include <string>

#include "core/services.hpp"

namespace amo::oauth {

inline constexpr int kApiKeyWindowS = 300;

// Throws kRateLimited (with Retry-After) inside the window; amoCRM's 400/401 → kInvalidParameter,
// 403 → kForbidden, 429 → kAmoRateLimited; other failures as their amoCRM fault (the window
// is given back when nothing reached amoCRM's limits).
void request_api_key_exchange(Services& svc, const std::string& user, const std::string& login,
                              const std::string& api_key);

}  // namespace amo::oauth
