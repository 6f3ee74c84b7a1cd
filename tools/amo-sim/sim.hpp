#pragma once
// amo-sim: an in-memory amoCRM (OAuth 2.0 + a slice of API v4) for tests and `make run`.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "demo_data.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"

namespace amosim {

using amo::http::Request;
using amo::http::Response;

struct Config {
  std::string fcgi_socket;
  std::string client_id;
  std::string client_secret;
  std::string redirect_uri;
  int64_t account_id = 31920194;
  std::string account_host = "reforyou.amocrm.ru";
  std::string account_name = "ForYou Real Estate";
  int threads = 8;
  int rate_limit = 7;  // API requests per second per account; 0 = unlimited
  int64_t token_lifetime_s = 86400;
  bool verbose = false;
};

struct Counters {
  int64_t token_authorization_code = 0;  // token calls with that grant_type (any outcome)
  int64_t token_refresh_token = 0;
  int64_t token_errors = 0;   // token calls answered with a non-200 status
  int64_t tokens_issued = 0;  // token calls that issued a new pair (the grant is used up)
  int64_t account = 0;
  int64_t leads = 0;
  int64_t pipelines = 0;
  int64_t exchange_api_key = 0;
  int64_t api_total = 0;             // every /api/v4/* request received
  int64_t rate_limited = 0;          // /api/v4/* requests refused by the rate limiter
  int64_t max_rps_seen = 0;          // most /api/v4/* requests seen within any 1 s window
  int64_t last_delivery_status = 0;  // 0 none yet, -1 transport failure
  int64_t deliveries = 0;            // exchange deliveries completed (any outcome)
  int64_t injected_failures = 0;     // requests fail_next applied to (answered or delayed)
  int64_t consent_pages = 0;         // GET /oauth
  int64_t consent_decisions = 0;     // GET /oauth/decide
  std::string last_leads_query;
};

struct FailNext {
  // token_code | token_refresh | account | leads | pipelines | exchange, or a group:
  // token (both grants), api (account, leads, pipelines), any
  std::string endpoint;
  int status = 0;  // 0: the endpoint's success status (302 for redirect)
  int64_t count = 0;
  std::string body;        // empty: no injected answer (latency only); see faults.hpp
  std::string field;       // wrong_types / missing_fields / invalid_utf8: only this member
  int64_t latency_ms = 0;  // the matched request waits this long first
  bool answers() const { return !body.empty(); }
};

struct Knobs {
  int64_t latency_ms = 0;
  std::optional<FailNext> fail_next;
  int64_t token_lifetime_s = 86400;
  bool empty_leads = false;
  int64_t rate_limit = 7;
};

class Sim {
 public:
  ~Sim();
  explicit Sim(Config cfg);
  // Never throws.
  Response handle(Request& req, bool too_large) noexcept;
  const Config& config() const { return cfg_; }

 private:
  using Fn = Response (Sim::*)(const Request&);
  struct AccessToken {
    int64_t account_id;
    int64_t exp;
    bool dead;  // expired by /_sim/expire-access or rotated away by a refresh
  };
  struct RefreshToken {
    int64_t account_id;
    int64_t exp;
    std::string access_token;
    bool used;  // used once, or revoked by /_sim/revoke-refresh
  };
  struct Code {
    int64_t account_id;
    int64_t exp;
  };

  Response dispatch(const Request& req);
  void route(const std::string& method, const std::string& path, Fn fn);

  // OAuth
  Response consent_page(const Request& req);
  Response consent_decide(const Request& req);
  Response access_token(const Request& req);
  Response exchange_api_key(const Request& req);
  // API v4
  Response api_account(const Request& req);
  Response api_leads(const Request& req);
  Response api_pipelines(const Request& req);
  // The answers of the API endpoints once the gate let the request through.
  Response account_answer() const;
  Response leads_answer(const Request& req);
  Response pipelines_answer() const;
  // /_sim
  Response sim_counters(const Request& req);
  Response sim_reset(const Request& req);
  Response sim_knobs(const Request& req);
  Response sim_issue_code(const Request& req);
  Response sim_expire_access(const Request& req);
  Response sim_revoke_refresh(const Request& req);
  Response sim_seed_refresh(const Request& req);
  Response sim_uninstall(const Request& req);

  // Common gate of /api/v4/*: counters, rate limit, fail_next, bearer token.
  // Returns a response when the request must stop there; `shaped` is set when fail_next
  // wants the endpoint's real answer reshaped (see finish).
  std::optional<Response> api_gate(const Request& req, int64_t Counters::*counter, const char* kind,
                                   std::optional<FailNext>& shaped);
  // The fail_next that applies to a request of `kind` (token_code, token_refresh,
  // token_other, account, leads, pipelines, exchange), taken (count decremented).
  std::optional<FailNext> take_fail_locked(const std::string& kind);
  // Waits out f.latency_ms with `lk` released.
  static void delay(const FailNext& f, std::unique_lock<std::mutex>& lk);
  // The injected answer of f for an endpoint whose real answer is `real` (used by the
  // kinds that reshape it). Never changes the simulator's state.
  Response injected(const FailNext& f, const std::string& kind, const Request& req,
                    const Response& real) const;
  // `real`, or the injected answer built from it when `shaped` is set.
  Response finish(const std::optional<FailNext>& shaped, const char* kind, const Request& req,
                  Response real) const;
  // A token answer as amoCRM sends it, with tokens the simulator does not know.
  std::string unissued_token_answer() const;
  std::string new_code_locked(int64_t now);
  std::string sign_jwt(const std::string& payload) const;
  std::string knobs_json_locked() const;
  void deliver(std::string url, uint64_t generation);
  std::string href(const std::string& path_and_query) const;

  Config cfg_;
  DemoData data_;
  std::string jwt_key_;
  amo::http::Router router_;

  std::mutex mu_;
  std::mutex deliveries_mu_;
  std::vector<std::thread> deliveries_;  // API-key code deliveries, joined by ~Sim
  Counters counters_;
  Knobs knobs_;
  std::map<std::string, Code> codes_;
  std::map<std::string, AccessToken> access_;
  std::map<std::string, RefreshToken> refresh_;
  std::deque<std::chrono::steady_clock::time_point> window_;  // API arrivals, last 1 s
  uint64_t generation_ = 0;  // bumped by reset; late deliveries of older generations are dropped
};

}  // namespace amosim
