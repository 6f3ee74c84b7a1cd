#pragma once
// The amoCRM HTTP client (libcurl): token requests, API GETs, the API-key exchange.
// TLS verification on, bounded by AMO_HTTP_TIMEOUT_MS and a body size limit, one keep-alive
// handle per thread. It knows nothing about users, locks or pacing (see amo/gateway.hpp).
// Every failure is an AmoError: a core::Error whose fault says what amoCRM did.
#include <cstdint>
#include <optional>
#include <string>

#include "app/metrics.hpp"
#include "config/config.hpp"
#include "core/error.hpp"

namespace amo::amo_api {

enum class Failure {
  kTimeout,      // no answer within AMO_HTTP_TIMEOUT_MS
  kNetwork,      // connection refused, DNS, TLS, closed mid-answer...
  kServer,       // 5xx
  kRejected,     // 4xx other than 429 (invalid code/token, bad request, forbidden)
  kRateLimited,  // 429
  kGarbage,      // an answer that is not what amoCRM sends (not JSON, wrong types, too
                 // large or deep, invalid UTF-8, a redirect)
};

// What the app is told for a failure: 504, 503, 503, 502 (403: forbidden), 429, 502.
core::Fault fault_of(Failure kind, long status);

// Safe to log: `hint` comes from amoCRM's problem+json, `detail` is ours; never a token.
struct AmoError : core::Error {
  AmoError(Failure k, long st, std::string detail_text, std::string h = {},
           std::optional<int> retry = std::nullopt);
  Failure kind;
  long status;         // HTTP status, 0 when there was none
  std::string detail;  // what happened, for the log
  std::string hint;    // problem+json hint/title/detail, trimmed
  // Rejected because the grant (code or refresh token) is invalid, used or revoked.
  bool grant_rejected() const {
    return kind == Failure::kRejected && (status == 400 || status == 401);
  }
};

struct TokenSet {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in = 0;
};

struct Account {
  int64_t id = 0;
  std::string name;
  std::string subdomain;
};

struct ApiResponse {
  long status = 0;
  std::string body;
  std::optional<int> retry_after;
};

class Client {
 public:
  Client(const Config& cfg, Metrics& metrics);
  virtual ~Client() = default;
  // "https://<host>" or AMO_BASE_URL when set.
  std::string origin_for(const std::string& host) const;

  TokenSet exchange_code(const std::string& host, const std::string& code);
  TokenSet refresh(const std::string& host, const std::string& refresh_token);
  // GET <origin><path_and_query> with the bearer token. Returns any HTTP answer; throws
  // AmoError only when there was no usable answer (timeout, network, too large).
  ApiResponse get(const std::string& host, const std::string& path_and_query,
                  const std::string& access_token, const char* endpoint_label);
  // POST /oauth2/exchange_api_key; returns on 202/200, throws AmoError otherwise.
  void exchange_api_key(const std::string& host, const std::string& login,
                        const std::string& api_key, const std::string& state);

 private:
  ApiResponse perform(const std::string& method, const std::string& url, const std::string& body,
                      const std::string& bearer, const char* endpoint_label);
  TokenSet grant(const std::string& host, const char* grant_type, const char* field,
                 const std::string& value);

  const Config& cfg_;
  Metrics& metrics_;
  std::string user_agent_;
};

}  // namespace amo::amo_api
