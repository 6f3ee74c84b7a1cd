#include "config/config.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "core/host.hpp"

namespace amo {

namespace {

struct Env {
  const Config::Getenv& get;

  std::optional<std::string> opt(const char* name) const {
    const char* v = get(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  }
  std::string req(const char* name) const {
    auto v = opt(name);
    if (!v) throw ConfigError(std::string(name) + ": required but not set");
    return *v;
  }
  int integer(const char* name, int def, int lo, int hi) const {
    auto v = opt(name);
    if (!v) return def;
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(v->c_str(), &end, 10);
    if (errno || *end || n < lo || n > hi)
      throw ConfigError(std::string(name) + ": must be an integer from " + std::to_string(lo) +
                        " to " + std::to_string(hi));
    return static_cast<int>(n);
  }
};

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

bool is_http_url(const std::string& u) {
  return (u.rfind("https://", 0) == 0 || u.rfind("http://", 0) == 0) && u.size() > 8 &&
         u.find_first_of(" \t\r\n\"<>") == std::string::npos;
}

std::string mask(const std::string& s) {
  return s.empty() ? "(empty)" : "****(" + std::to_string(s.size()) + " bytes)";
}

}  // namespace

std::string Config::database_url_from_env(const Getenv& getenv_fn) {
  return Env{getenv_fn}.req("DATABASE_URL");
}

Config Config::from_env(const Getenv& getenv_fn) {
  Env env{getenv_fn};
  Config c;
  c.database_url = env.req("DATABASE_URL");
  c.jwt_secret = env.req("JWT_SECRET");
  if (c.jwt_secret.size() < 32) throw ConfigError("JWT_SECRET: must be at least 32 bytes");

  auto key = crypto::key_from_base64(env.req("TOKEN_ENCRYPTION_KEY"));
  if (!key) throw ConfigError("TOKEN_ENCRYPTION_KEY: must be base64 of exactly 32 bytes");
  c.token_key = *key;
  if (auto prev = env.opt("TOKEN_ENCRYPTION_PREVIOUS_KEYS")) {
    for (auto& k : split_csv(*prev)) {
      auto pk = crypto::key_from_base64(k);
      if (!pk)
        throw ConfigError(
            "TOKEN_ENCRYPTION_PREVIOUS_KEYS: every key must be base64 of exactly 32 bytes");
      c.previous_token_keys.push_back(*pk);
    }
  }

  c.amo_client_id = env.req("AMO_CLIENT_ID");
  c.amo_client_secret = env.req("AMO_CLIENT_SECRET");
  c.amo_redirect_uri = env.req("AMO_REDIRECT_URI");
  if (!is_http_url(c.amo_redirect_uri))
    throw ConfigError("AMO_REDIRECT_URI: must be an http(s) URL");
  // Hosts are stored and compared in their normalized (lower-case) form.
  auto domain = core::normalize_host(env.req("AMO_DOMAIN"));
  if (!domain) throw ConfigError("AMO_DOMAIN: must be a host name such as reforyou.amocrm.ru");
  c.amo_domain = *domain;

  c.amo_account_id = env.opt("AMO_ACCOUNT_ID");
  if (c.amo_account_id && c.amo_account_id->find_first_not_of("0123456789") != std::string::npos)
    throw ConfigError("AMO_ACCOUNT_ID: must be a number");
  if (auto api = env.opt("AMO_API_DOMAIN")) {
    c.amo_api_domain = core::normalize_host(*api);
    if (!c.amo_api_domain) throw ConfigError("AMO_API_DOMAIN: must be a host name");
  }
  if (auto d = env.opt("AMO_ALLOWED_DOMAINS")) {
    c.amo_allowed_domains = split_csv(*d);
    if (c.amo_allowed_domains.empty())
      throw ConfigError("AMO_ALLOWED_DOMAINS: must list at least one domain");
    for (auto& dom : c.amo_allowed_domains) {
      auto host = core::normalize_host(dom);
      if (!host) throw ConfigError("AMO_ALLOWED_DOMAINS: '" + dom + "' is not a domain");
      dom = *host;
    }
  }
  if (auto u = env.opt("AMO_AUTH_URL")) {
    if (!is_http_url(*u)) throw ConfigError("AMO_AUTH_URL: must be an http(s) URL");
    c.amo_auth_url = *u;
  }
  if (auto m = env.opt("AMO_AUTH_MODE")) {
    if (*m != "post_message" && *m != "popup")
      throw ConfigError("AMO_AUTH_MODE: must be post_message or popup");
    c.amo_auth_mode = *m;
  }
  if (auto b = env.opt("AMO_BASE_URL")) {
    if (!is_http_url(*b)) throw ConfigError("AMO_BASE_URL: must be an http(s) origin");
    while (!b->empty() && b->back() == '/') b->pop_back();
    c.amo_base_url = *b;
  }
  if (auto l = env.opt("APP_DEEP_LINK")) {
    if (l->find("://") == std::string::npos || l->find_first_of(" \"'<>?#") != std::string::npos)
      throw ConfigError("APP_DEEP_LINK: must be a URL such as foryoure://amo-crm/callback");
    c.app_deep_link = *l;
  }
  if (auto s = env.opt("FCGI_SOCKET")) c.fcgi_socket = *s;
  c.worker_threads = env.integer("WORKER_THREADS", c.worker_threads, 1, 1024);
  c.db_pool_size = env.integer("DB_POOL_SIZE", c.db_pool_size, 1, 512);
  c.db_pool_wait_ms = env.integer("DB_POOL_WAIT_MS", c.db_pool_wait_ms, 1, 60000);
  c.amo_http_timeout_ms = env.integer("AMO_HTTP_TIMEOUT_MS", c.amo_http_timeout_ms, 100, 120000);
  c.templates_dir =
      env.opt("TEMPLATES_DIR").value_or(std::string(AMO_DEFAULT_DATADIR) + "/templates");
  c.amo_state_ttl_s = env.integer("AMO_STATE_TTL_S", c.amo_state_ttl_s, 10, 86400);
  c.amo_keepalive_days = env.integer("AMO_KEEPALIVE_DAYS", c.amo_keepalive_days, 1, 80);
  if (auto r = env.opt("AMO_RATE_LIMIT_RPS")) {
    char* end = nullptr;
    double v = std::strtod(r->c_str(), &end);
    if (*end || !(v > 0 && v <= 1000))
      throw ConfigError("AMO_RATE_LIMIT_RPS: must be a number above 0 and at most 1000");
    c.amo_rate_limit_rps = v;
  }
  c.amo_rate_limit_max_wait_ms =
      env.integer("AMO_RATE_LIMIT_MAX_WAIT_MS", c.amo_rate_limit_max_wait_ms, 0, 60000);
  c.shutdown_grace_s = env.integer("SHUTDOWN_GRACE_S", c.shutdown_grace_s, 0, 600);
  c.leads_fresh_s = env.integer("LEADS_FRESH_S", c.leads_fresh_s, 0, 3600);
  c.leads_stale_max_s = env.integer("LEADS_STALE_MAX_S", c.leads_stale_max_s, 0, 2592000);
  if (c.leads_stale_max_s > 0 && c.leads_stale_max_s < c.leads_fresh_s)
    throw ConfigError("LEADS_STALE_MAX_S: must be 0 (never stale) or at least LEADS_FRESH_S");
  c.leads_store_max_age_s =
      env.integer("LEADS_STORE_MAX_AGE_S", std::max({86400, c.leads_stale_max_s, c.leads_fresh_s}),
                  60, 2592000);
  if (c.leads_store_max_age_s < std::max(c.leads_stale_max_s, c.leads_fresh_s))
    throw ConfigError(
        "LEADS_STORE_MAX_AGE_S: must be at least LEADS_STALE_MAX_S and LEADS_FRESH_S");
  c.leads_store_per_user = env.integer("LEADS_STORE_PER_USER", c.leads_store_per_user, 1, 10000);
  c.leads_store_max_entries =
      env.integer("LEADS_STORE_MAX_ENTRIES", c.leads_store_max_entries, 1, 10000000);
  if (c.leads_store_max_entries < c.leads_store_per_user)
    throw ConfigError("LEADS_STORE_MAX_ENTRIES: must be at least LEADS_STORE_PER_USER");
  if (auto l = env.opt("LOG_LEVEL")) {
    if (*l == "error")
      c.log_level = LogLevel::kError;
    else if (*l == "warn")
      c.log_level = LogLevel::kWarn;
    else if (*l == "info")
      c.log_level = LogLevel::kInfo;
    else if (*l == "debug")
      c.log_level = LogLevel::kDebug;
    else
      throw ConfigError("LOG_LEVEL: must be error, warn, info or debug");
  }
  return c;
}

Config Config::from_process_env() {
  return from_env([](const char* n) { return std::getenv(n); });
}

std::vector<std::string> Config::describe() const {
  auto opt = [](const std::optional<std::string>& v) { return v ? *v : std::string("(unset)"); };
  std::string domains, prev;
  for (auto& d : amo_allowed_domains) domains += (domains.empty() ? "" : ",") + d;
  for (auto& k : previous_token_keys) prev += (prev.empty() ? "" : ",") + ("key id " + k.id);
  static const char* kLevels[] = {"error", "warn", "info", "debug"};
  // DATABASE_URL may carry a password: rebuild it from libpq's own parse, password masked.
  std::string db = "(unparsable; not shown)";
  char* err = nullptr;
  if (PQconninfoOption* opts = PQconninfoParse(database_url.c_str(), &err)) {
    db.clear();
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (!o->val || !*o->val) continue;
      std::string v = std::string(o->keyword) == "password" ? "****" : o->val;
      db += (db.empty() ? "" : " ") + std::string(o->keyword) + "=" + v;
    }
    PQconninfoFree(opts);
  }
  if (err) PQfreemem(err);
  return {
      "DATABASE_URL=" + db,
      "JWT_SECRET=" + mask(jwt_secret),
      "TOKEN_ENCRYPTION_KEY=****(key id " + token_key.id + ")",
      "TOKEN_ENCRYPTION_PREVIOUS_KEYS=" + (prev.empty() ? "(unset)" : prev),
      "AMO_CLIENT_ID=" + amo_client_id,
      "AMO_CLIENT_SECRET=" + mask(amo_client_secret),
      "AMO_REDIRECT_URI=" + amo_redirect_uri,
      "AMO_DOMAIN=" + amo_domain,
      "AMO_ACCOUNT_ID=" + opt(amo_account_id),
      "AMO_API_DOMAIN=" + opt(amo_api_domain),
      "AMO_ALLOWED_DOMAINS=" + domains,
      "AMO_AUTH_URL=" + amo_auth_url,
      "AMO_AUTH_MODE=" + amo_auth_mode,
      "AMO_BASE_URL=" + opt(amo_base_url),
      "APP_DEEP_LINK=" + app_deep_link,
      "FCGI_SOCKET=" + fcgi_socket,
      "WORKER_THREADS=" + std::to_string(worker_threads),
      "DB_POOL_SIZE=" + std::to_string(db_pool_size),
      "DB_POOL_WAIT_MS=" + std::to_string(db_pool_wait_ms),
      "AMO_HTTP_TIMEOUT_MS=" + std::to_string(amo_http_timeout_ms),
      "TEMPLATES_DIR=" + templates_dir,
      "AMO_STATE_TTL_S=" + std::to_string(amo_state_ttl_s),
      "AMO_KEEPALIVE_DAYS=" + std::to_string(amo_keepalive_days),
      "AMO_RATE_LIMIT_RPS=" + std::to_string(amo_rate_limit_rps),
      "AMO_RATE_LIMIT_MAX_WAIT_MS=" + std::to_string(amo_rate_limit_max_wait_ms),
      "SHUTDOWN_GRACE_S=" + std::to_string(shutdown_grace_s),
      "LEADS_FRESH_S=" + std::to_string(leads_fresh_s) +
          (leads_fresh_s == 0 ? " (the leads store is off)" : ""),
      "LEADS_STALE_MAX_S=" + std::to_string(leads_stale_max_s),
      "LEADS_STORE_MAX_AGE_S=" + std::to_string(leads_store_max_age_s),
      "LEADS_STORE_PER_USER=" + std::to_string(leads_store_per_user),
      "LEADS_STORE_MAX_ENTRIES=" + std::to_string(leads_store_max_entries),
      "LOG_LEVEL=" + std::string(kLevels[static_cast<int>(log_level)]),
  };
}

}  // namespace amo
