#pragma once
// A usable access token for a user: refreshed under the connection's row lock, one refresh
// in flight per connection across all threads, processes and hosts; the new pair is
// committed before it is used; a rejected refresh marks the connection needsReauth.
#include <cstdint>
#include <string>

#include "core/services.hpp"

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

// A usable session for the user: kNotConnected / kReauthRequired otherwise.
Session session(Services& svc, const std::string& user);

// Refreshes the user's tokens unless another worker already did (token_version moved on
// from `seen_version`) or, without `force`, unless the token is still fresh. Waits a
// bounded time for a refresh in flight elsewhere.
Session refresh(Services& svc, const std::string& user, int64_t seen_version, bool force);

// Encrypts a token pair for storage; the AAD binds each value to its user and column.
struct Sealed {
  std::string access, refresh, key_id;
};
Sealed seal(const Services& svc, const std::string& user, const std::string& access,
            const std::string& refresh);
// The same with a cipher alone (tools/bench_rows.cpp writes rows the server can read).
Sealed seal(const crypto::TokenCipher& cipher, const std::string& user, const std::string& access,
            const std::string& refresh);
// Decrypts a stored pair (kReauthRequired when it cannot be read).
struct Opened {
  std::string access, refresh;
};
Opened open(const Services& svc, const std::string& user, const std::string& access_blob,
            const std::string& refresh_blob, const std::string& key_id);

}  // namespace amo::oauth
