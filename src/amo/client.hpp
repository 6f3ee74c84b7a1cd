#pragma once
// The amoCRM HTTP client (libcurl): token requests, API GETs, API-key exchange.
// TLS verification on, bounded by AMO_HTTP_TIMEOUT_MS, one keep-alive handle per thread.
// It knows nothing about users, locks or rate limits (see oauth/token_manager).
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "app/metrics.hpp"
#include "config/config.hpp"

namespace amo::amo_api {

enum class Failure {
  kTimeout,      // no answer within AMO_HTTP_TIMEOUT_MS
  kNetwork,      // connection refused, DNS, TLS...
  kServer,       // 5xx
  kRejected,     // 4xx other than 429 (invalid code/token, bad request, forbidden)
  kRateLimited,  // 429
  kGarbage,      // 2xx whose body is not what amoCRM sends
};

// Safe to log: `hint`/`title` come from amoCRM's problem+json, never a token.
struct AmoError : std::runtime_error {
  AmoError(Failure k, long st, std::string what_, std::string h = {},
           std::optional<int> retry = std::nullopt)
      : std::runtime_error(std::move(what_)),
        kind(k),
        status(st),
        hint(std::move(h)),
        retry_after(retry) {}
  Failure kind;
  long status;       // HTTP status, 0 when there was none
  std::string hint;  // problem+json hint/title/detail, trimmed
  std::optional<int> retry_after;
  // Rejected because the grant (code or refresh token) is invalid, used or revoked.
  bool grant_rejected() const {
    return kind == Failure::kRejected && (status == 400 || status == 401);
  }
};

struct TokenSet {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in = 0;
  int64_t server_time = 0;
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

// Maps a failure to the API error the app answers (502/503/504/429).
[[noreturn]] void rethrow_as_api_error(const AmoError& e);

class Client {
 public:
  Client(const Config& cfg, Metrics& metrics);
  // "https://<host>" or AMO_BASE_URL when set.
  std::string origin_for(const std::string& host) const;

  TokenSet exchange_code(const std::string& host, const std::string& code);
  TokenSet refresh(const std::string& host, const std::string& refresh_token);
  // GET <origin><path_and_query> with the bearer token. Returns any HTTP answer; throws
  // AmoError only when there was no usable answer (timeout, network).
  ApiResponse get(const std::string& host, const std::string& path_and_query,
                  const std::string& access_token, const char* endpoint_label);
  // POST /oauth2/exchange_api_key; returns on 202/200, throws AmoError otherwise.
  void exchange_api_key(const std::string& host, const std::string& login,
                        const std::string& api_key, const std::string& state);

  static Account parse_account(const std::string& body);  // throws AmoError kGarbage

 private:
  struct Raw {
    long status = 0;
    std::string body;
    std::optional<int> retry_after;
  };
  Raw perform(const std::string& method, const std::string& url, const std::string& body,
              const std::string& bearer, const char* endpoint_label);
  TokenSet token_request(const std::string& host, const std::string& body, const char* label);
  TokenSet grant(const std::string& host, const char* grant_type, const char* field,
                 const std::string& value);

  const Config& cfg_;
  Metrics& metrics_;
  std::string user_agent_;
};

}  // namespace amo::amo_api
