#pragma once
// Typed configuration read once from the environment (docs/CONFIGURATION.md) and validated.
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"

namespace amo {

// One clear line naming the variable: "JWT_SECRET: must be at least 32 bytes".
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

struct Config {
  std::string database_url;
  std::string jwt_secret;
  crypto::Key token_key;
  std::vector<crypto::Key> previous_token_keys;
  std::string amo_client_id;
  std::string amo_client_secret;
  std::string amo_redirect_uri;
  std::string amo_domain;
  std::optional<std::string> amo_account_id;
  std::optional<std::string> amo_api_domain;
  std::vector<std::string> amo_allowed_domains{"amocrm.ru", "amocrm.com", "kommo.com"};
  std::string amo_auth_url = "https://www.amocrm.ru/oauth";
  std::string amo_auth_mode = "post_message";
  std::optional<std::string> amo_base_url;
  std::string app_deep_link = "foryoure://amo-crm/callback";
  std::string fcgi_socket = "/run/amo-connect/amo-connect.sock";
  int worker_threads = 16;
  int db_pool_size = 8;
  int db_pool_wait_ms = 2000;
  int amo_http_timeout_ms = 10000;
  std::string templates_dir;
  int amo_state_ttl_s = 900;
  int amo_keepalive_days = 30;
  double amo_rate_limit_rps = 7;
  int amo_rate_limit_max_wait_ms = 5000;
  int shutdown_grace_s = 20;
  // The leads store (amo/response_store): answers younger than leads_fresh_s are served
  // without calling amoCRM (0 turns the store off: no reads, no writes, no stale answers);
  // when amoCRM fails, answers younger than leads_stale_max_s are served as stale (0:
  // never). Bounded per user and overall (oldest evicted); nothing older than
  // leads_store_max_age_s is kept (unset: the larger of one day and leads_stale_max_s).
  int leads_fresh_s = 5;
  int leads_stale_max_s = 86400;
  int leads_store_max_age_s = 86400;
  int leads_store_per_user = 100;
  int leads_store_max_entries = 100000;
  LogLevel log_level = LogLevel::kInfo;

  using Getenv = std::function<const char*(const char*)>;
  // Reads and validates every variable; throws ConfigError on the first bad one.
  static Config from_env(const Getenv& getenv_fn);
  static Config from_process_env();
  // Only what the database commands need (migrate): DATABASE_URL.
  static std::string database_url_from_env(const Getenv& getenv_fn);

  // "NAME=value" lines, secrets masked — for `amo-connect check-config`.
  std::vector<std::string> describe() const;
};

}  // namespace amo
