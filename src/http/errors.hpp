#pragma once
// One table maps every error the service can answer to its HTTP status and public text.
// Handlers throw ApiError; the request loop catches it once and renders the JSON envelope.
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace amo::http {

struct Response;

enum class Err {
  kBadRequest,            // 400 bad_request
  kInvalidJson,           // 400 invalid_json
  kInvalidParameter,      // 400 invalid_parameter
  kMissingParameter,      // 400 missing_parameter
  kUnauthorized,          // 401 unauthorized
  kForbidden,             // 403 forbidden
  kNotFound,              // 404 not_found
  kMethodNotAllowed,      // 405 method_not_allowed
  kNotConnected,          // 409 not_connected
  kReauthRequired,        // 409 reauthorization_required
  kCodeAlreadyUsed,       // 409 code_already_used
  kPayloadTooLarge,       // 413 payload_too_large
  kUnsupportedMediaType,  // 415 unsupported_media_type
  kRateLimited,           // 429 rate_limited
  kInternal,              // 500 internal_error
  kAmoExchangeFailed,     // 502 amo_exchange_failed
  kAmoError,              // 502 amo_error
  kAmoUnavailable,        // 503 amo_unavailable
  kDbUnavailable,         // 503 database_unavailable
  kAmoTimeout,            // 504 amo_timeout
  kAmoRateLimited,        // 429 amo_rate_limited
  // The callback's outcomes (SPEC §4), shared by its HTML and JSON answers.
  kAccessDenied,       // 400 access_denied
  kMissingCode,        // 400 missing_code
  kInvalidState,       // 400 invalid_state
  kInvalidClient,      // 400 invalid_client
  kInvalidReferer,     // 400 invalid_referer
  kAccountNotAllowed,  // 400 account_not_allowed
  kExchangeFailed,     // 502 exchange_failed
};

struct ErrInfo {
  int status;
  const char* code;
  const char* message;  // default public message
};

const ErrInfo& info(Err e);

class ApiError : public std::runtime_error {
 public:
  explicit ApiError(Err e, std::string message = {}, std::optional<int> retry_after_s = {});
  Err err() const { return err_; }
  int status() const { return info(err_).status; }
  const char* code() const { return info(err_).code; }
  const std::string& public_message() const { return message_; }
  std::optional<int> retry_after() const { return retry_after_; }
  // Extra headers (Allow, WWW-Authenticate, Retry-After) added to the response.
  std::vector<std::pair<std::string, std::string>> headers;

 private:
  Err err_;
  std::string message_;
  std::optional<int> retry_after_;
};

// {"success":false,"error":{"code":…,"message":…}} with the table's status and headers.
Response error_response(const ApiError& e);
Response error_response(Err e, const std::string& message = {});

}  // namespace amo::http
