#pragma once
// Failures carry their origin, not an HTTP status. Each layer throws what it knows:
//   request parsing  — the client's request is wrong (bad parameter, bad JSON, no auth, …)
//   domain           — the state the request meets (not connected, state used, …)
//   store            — the database is unavailable or busy
//   amoCRM           — amoCRM rejected, was unreachable, timed out or answered garbage
// One table in app/ (http/errors.cpp) maps a Fault to the status and public code, caught
// once per request. Only request-side faults may become a 4xx; a malformed amoCRM answer
// is never blamed on the app.
#include <optional>
#include <stdexcept>
#include <string>

namespace amo::core {

enum class Fault {
  // Request side (the client's fault): 4xx.
  kBadRequest,            // 400 bad_request
  kInvalidJson,           // 400 invalid_json
  kInvalidParameter,      // 400 invalid_parameter
  kMissingParameter,      // 400 missing_parameter
  kUnauthorized,          // 401 unauthorized
  kForbidden,             // 403 forbidden
  kNotFound,              // 404 not_found
  kMethodNotAllowed,      // 405 method_not_allowed
  kPayloadTooLarge,       // 413 payload_too_large
  kUnsupportedMediaType,  // 415 unsupported_media_type
  // Domain state the request meets.
  kNotConnected,     // 409 not_connected
  kReauthRequired,   // 409 reauthorization_required
  kCodeAlreadyUsed,  // 409 code_already_used
  kRateLimited,      // 429 rate_limited (our own limits and pacing)
  // The callback's outcomes, shared by its HTML and JSON answers.
  kAccessDenied,          // 400 access_denied
  kMissingCode,           // 400 missing_code
  kInvalidState,          // 400 invalid_state
  kInvalidClient,         // 400 invalid_client
  kInvalidReferer,        // 400 invalid_referer
  kAccountNotAllowed,     // 400 account_not_allowed
  kExchangeFailed,        // 502 exchange_failed: amoCRM rejected the code or answered garbage
  kExchangeUnavailable,   // 503 exchange_failed: amoCRM unavailable or rate limiting
  kExchangeTimedOut,      // 504 exchange_failed: amoCRM did not answer in time
  kRedemptionInProgress,  // 503 exchange_failed: another request is redeeming this code
  // Store.
  kDbUnavailable,  // 503 database_unavailable
  kDbBusy,         // 503 database_unavailable ("busy" text)
  // amoCRM.
  kAmoCodeRejected,  // 502 amo_exchange_failed: amoCRM refused the authorization code
  kAmoRejected,      // 502 amo_error: an unexpected error status from amoCRM
  kAmoBadResponse,   // 502 amo_bad_response: an answer that cannot be read
  kAmoUnavailable,   // 503 amo_unavailable: unreachable or answering 5xx
  kAmoTimeout,       // 504 amo_timeout
  kAmoRateLimited,   // 429 amo_rate_limited: amoCRM's 429 after one retry
  kAmoForbidden,     // 403 forbidden: amoCRM refused access to the account
  // Our own bug.
  kInternal,  // 500 internal_error
};

class Error : public std::runtime_error {
 public:
  // `public_message` replaces the table's default text (safe for clients: no secrets, no
  // SQL, no amoCRM body). `retry_after_s` is honoured for 429/503 answers.
  explicit Error(Fault f, std::string public_message = {},
                 std::optional<int> retry_after_s = std::nullopt)
      : std::runtime_error(public_message.empty() ? "error" : public_message),
        fault_(f),
        message_(std::move(public_message)),
        retry_after_(retry_after_s) {}
  Fault fault() const { return fault_; }
  const std::string& public_message() const { return message_; }  // empty: the default
  std::optional<int> retry_after() const { return retry_after_; }

 private:
  Fault fault_;
  std::string message_;
  std::optional<int> retry_after_;
};

// Is the fault amoCRM's (or the network's to it), as opposed to the client's or ours?
inline bool from_amo(Fault f) { return f >= Fault::kAmoCodeRejected && f <= Fault::kAmoForbidden; }

}  // namespace amo::core
