#pragma once
// Connection administration (`amo-connect connections …`): list and show connections
// without reading any token material, and force one refresh through the single-flight
// path every request uses. Disconnecting is oauth::disconnect (connections.hpp).
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/services.hpp"
#include "oauth/connections.hpp"

namespace amo::oauth {

struct ListFilter {
  bool needs_reauth_only = false;
  std::optional<std::string> host;  // normalized account host
  std::optional<int> stale_days;    // not refreshed for this many days (or never)
};
struct Listed {
  std::string user;
  Status status;
};
struct ListResult {
  std::vector<Listed> connections;  // in user order, at most the limit
  bool truncated = false;           // more connections match
};
ListResult list_connections(Services& svc, const ListFilter& filter, int limit);

// One audit log row (its detail is never a secret, by contract).
struct Event {
  int64_t at = 0;  // unix seconds
  std::string event;
  std::optional<int64_t> account_id;
  std::string detail_json;
};
inline constexpr int kShowEvents = 20;
struct Report {
  Status status;                    // status.exists false: no connection
  std::optional<Event> last_error;  // the newest failure on record (any age)
  std::vector<Event> events;        // the last kShowEvents, newest first
};
Report show_connection(Services& svc, const std::string& user);

// Forces one refresh of the user's tokens with oauth::refresh (row lock, one refresh in
// flight per connection; a refresh already in flight elsewhere is waited for and its
// result used). Audited as `refresh` with {"actor": actor}. Returns the new expiry.
// A refresh amoCRM rejects marks the connection needs-reauth (as a request's would) and
// throws RefreshRejected. Otherwise throws core::Error: kNotConnected (no connection),
// kReauthRequired (already marked, or the stored tokens cannot be decrypted: nothing is
// sent to amoCRM), or the transient fault of the refresh (connection unchanged).
struct RefreshRejected : std::runtime_error {
  using std::runtime_error::runtime_error;
};
int64_t force_refresh(Services& svc, const std::string& user, const char* actor);

}  // namespace amo::oauth
