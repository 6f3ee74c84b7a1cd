#pragma once
// A user's connection as the app and amoCRM's hook see it: status, disconnect, and the
// "integration disconnected" hook.
#include <cstdint>
#include <optional>
#include <string>

#include "core/services.hpp"

namespace amo {
struct Config;
}
namespace amo::store {
struct StatusRow;
}

namespace amo::oauth {

struct Status {
  bool exists = false;
  bool has_tokens = false;
  bool needs_reauth = false;
  std::string domain;
  std::optional<int64_t> account_id;
  std::optional<std::string> account_name;
  std::optional<int64_t> expires_at, last_refresh_at;
  bool connected() const { return has_tokens && !needs_reauth; }
};
// Reads no token material.
Status status(Services& svc, const std::string& user);
// The Status of a stored row.
Status to_status(const store::StatusRow& row);

// Deletes the user's connection (the token material itself); idempotent. Audited (with
// {"actor": actor} as the detail when given, e.g. "cli"). True when there was a connection.
bool disconnect(Services& svc, const std::string& user, const char* audit_event = "disconnect",
                const char* actor = nullptr);

// The account a disconnect hook names, when its signature is valid: all three parameters
// present, client_uuid == AMO_CLIENT_ID, signature == hex HMAC-SHA256("<client_uuid>|
// <account_id>", AMO_CLIENT_SECRET) in either letter case (constant-time compare).
// kUnauthorized otherwise; a validly signed account_id that is not a number is
// kInvalidParameter.
int64_t verify_hook(const Config& cfg, const std::optional<std::string>& client_uuid,
                    const std::optional<std::string>& account_id,
                    const std::optional<std::string>& signature);
// Removes every connection to the account whose tokens amoCRM no longer honours (a hook
// replayed while they still work changes nothing: audited as hook_ignored, counted);
// returns how many were removed. Audited.
size_t hook_disconnect(Services& svc, int64_t account_id);

}  // namespace amo::oauth
