#pragma once
// Starting and completing a connection: single-use states, the referer host check, and
// redeeming an authorization code for a user (exchange → account → store → audit).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/context.hpp"

namespace amo::oauth {

// SHA-256 of a state or code: only hashes are stored.
std::string digest(const std::string& secret_value);

// True when `host` is a plain host name equal to, or ending at a label boundary in, one
// of `allowed` ("x.amocrm.ru" for "amocrm.ru"; never "evilamocrm.ru", "amocrm.ru.evil.com",
// "user@host", IPs or ports).
bool host_allowed(const std::string& host, const std::vector<std::string>& allowed);

struct NewState {
  std::string state;
  int64_t expires_at;
};
// Creates a single-use state bound to `user` ("oauth" or "api_key").
NewState create_state(Context& ctx, const std::string& user, const std::string& purpose);

struct Connection {
  std::string domain;
  int64_t account_id = 0;
  std::optional<std::string> account_name;
};

// Exchanges `code` at `host`, looks up the account, checks AMO_ACCOUNT_ID and stores the
// tokens for `user`. Throws ApiError: kExchangeFailed (rejected), kAccountNotAllowed, and
// the transient amoCRM errors (502/503/504). Writes the audit rows.
Connection redeem_code(Context& ctx, const std::string& user, const std::string& code,
                       const std::string& host);

}  // namespace amo::oauth
