#pragma once
// Starting and completing a connection: single-use states and the one redemption path of
// an authorization code (the callback, its API-key delivery and exchange-code all use it).
#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/services.hpp"

namespace amo::oauth {

// SHA-256 of a state or code: only hashes are stored.
std::string digest(const std::string& secret_value);

struct NewState {
  std::string state;
  int64_t expires_at;
  std::string url;  // AMO_AUTH_URL?client_id=…&state=…&mode=…
};
// Creates a single-use state bound to `user` ("oauth" or "api_key").
NewState create_state(Services& svc, const std::string& user, const std::string& purpose);

struct Grant {
  std::string code;
  std::optional<std::string> state;
  std::string host;  // normalized, already checked against AMO_ALLOWED_DOMAINS
};

struct Connection {
  std::string user;
  std::string domain;
  int64_t account_id = 0;
  bool already = false;  // this code was redeemed before (a reload): amoCRM was not called
};

// Redeems `grant` for the user its state belongs to (the callback: `jwt_user` empty) or
// for `jwt_user` (exchange-code). One atomic claim of the state decides who exchanges the
// code, whatever the interleaving; a request that finds the code claimed by the same user
// waits for that redemption and answers like a reload. Throws core::Error:
//   kInvalidState (unknown, expired, used by another code or failed), kForbidden (the
//   state is another user's), kCodeAlreadyUsed (the code connected another user),
//   kAmoCodeRejected (amoCRM refused the code), kAccountNotAllowed, kRedemptionInProgress,
//   the amoCRM faults of the exchange and account lookup (the state is given back so a
//   retry can succeed), and the store's.
Connection redeem(Services& svc, const Grant& grant, const std::optional<std::string>& jwt_user);

// What the callback tells the browser for a failure: the amoCRM faults become
// exchange_failed with a status that says why (502 rejected/unreadable, 503 unavailable or
// rate limited, 504 timed out); its own outcomes and the store's pass unchanged.
core::Fault callback_fault(core::Fault f);

}  // namespace amo::oauth
