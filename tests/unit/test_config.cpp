// Configuration from the environment (docs/CONFIGURATION.md): required and optional variables, one
// clear error line naming the variable, defaults, and `describe()` never showing a secret.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "crypto/crypto.hpp"

using amo::Config;
using amo::ConfigError;
using amo::LogLevel;

namespace {

using Env = std::map<std::string, std::string>;

const std::string kJwtSecret = "jwt-secret-0123456789-abcdefghijklmnop";  // 38 bytes
const std::string kClientSecret = "client-secret-Zq8vXw3";
const std::string kKeyB64 = amo::crypto::base64_encode(std::string(32, 'K'));
const std::string kPrevKey1 = amo::crypto::base64_encode(std::string(32, 'P'));
const std::string kPrevKey2 = amo::crypto::base64_encode(std::string(32, 'Q'));
const std::string kDbPassword = "db-pass-Wd93kq";

const char* const kRequired[] = {"DATABASE_URL",  "JWT_SECRET",        "TOKEN_ENCRYPTION_KEY",
                                 "AMO_CLIENT_ID", "AMO_CLIENT_SECRET", "AMO_REDIRECT_URI",
                                 "AMO_DOMAIN"};

// The required variables, all valid.
Env minimal_env() {
  return {
      {"DATABASE_URL", "postgresql://amo@db.example:5432/amo"},
      {"JWT_SECRET", kJwtSecret},
      {"TOKEN_ENCRYPTION_KEY", kKeyB64},
      {"AMO_CLIENT_ID", "6f1b6a52-3c2d-4e8f-9a0b-1c2d3e4f5a6b"},
      {"AMO_CLIENT_SECRET", kClientSecret},
      {"AMO_REDIRECT_URI", "https://api.foryou.example/api/v1/integrations/amo-crm/callback"},
      {"AMO_DOMAIN", "reforyou.amocrm.ru"},
  };
}

Config load(const Env& env) {
  return Config::from_env([&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

bool is_secret(const std::string& name) {
  return name == "DATABASE_URL" || name == "JWT_SECRET" || name == "TOKEN_ENCRYPTION_KEY" ||
         name == "TOKEN_ENCRYPTION_PREVIOUS_KEYS" || name == "AMO_CLIENT_SECRET";
}

// Expects from_env to fail with one line that starts with "NAME:"; the value of a secret
// is never echoed.
void expect_error(const Env& env, const std::string& name, const std::string& value = {}) {
  try {
    load(env);
    BOOST_ERROR("accepted; expected a ConfigError naming " << name);
  } catch (const ConfigError& e) {
    std::string what = e.what();
    BOOST_TEST_INFO("what(): " << what);
    BOOST_TEST(starts_with(what, name + ":"));
    BOOST_TEST(!contains(what, "\n"));
    if (is_secret(name) && value.size() >= 4) BOOST_TEST(!contains(what, value));
  }
}

// Expects a ConfigError for `name` when it is set to `value` on top of the minimal set.
void expect_bad(const std::string& name, const std::string& value) {
  BOOST_TEST_CONTEXT(name << "=" << value) {
    Env env = minimal_env();
    env[name] = value;
    expect_error(env, name, value);
  }
}

Config with(const std::string& name, const std::string& value) {
  Env env = minimal_env();
  env[name] = value;
  return load(env);
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(full_valid_set) {
  Env env = minimal_env();
  env["DATABASE_URL"] = "postgresql:///amo?host=/run/postgresql";
  env["TOKEN_ENCRYPTION_PREVIOUS_KEYS"] = kPrevKey1 + " , " + kPrevKey2;
  env["AMO_ACCOUNT_ID"] = "31920194";
  env["AMO_API_DOMAIN"] = "api-b.amocrm.ru";
  env["AMO_ALLOWED_DOMAINS"] = "amocrm.ru,kommo.com";
  env["AMO_AUTH_URL"] = "https://www.kommo.com/oauth";
  env["AMO_AUTH_MODE"] = "popup";
  env["AMO_BASE_URL"] = "http://127.0.0.1:9180/";
  env["APP_DEEP_LINK"] = "foryoure-dev://amo-crm/callback";
  env["FCGI_SOCKET"] = "127.0.0.1:9000";
  env["WORKER_THREADS"] = "4";
  env["DB_POOL_SIZE"] = "3";
  env["DB_POOL_WAIT_MS"] = "1500";
  env["AMO_HTTP_TIMEOUT_MS"] = "2500";
  env["TEMPLATES_DIR"] = "/opt/amo/templates";
  env["AMO_STATE_TTL_S"] = "600";
  env["AMO_KEEPALIVE_DAYS"] = "14";
  env["AMO_RATE_LIMIT_RPS"] = "2.5";
  env["AMO_RATE_LIMIT_MAX_WAIT_MS"] = "0";
  env["SHUTDOWN_GRACE_S"] = "5";
  env["LOG_LEVEL"] = "debug";

  Config c = load(env);
  BOOST_TEST(c.database_url == "postgresql:///amo?host=/run/postgresql");
  BOOST_TEST(c.jwt_secret == kJwtSecret);
  BOOST_TEST(c.token_key.bytes == std::string(32, 'K'));
  BOOST_TEST(c.token_key.id.size() == 8u);
  BOOST_REQUIRE(c.previous_token_keys.size() == 2u);
  BOOST_TEST(c.previous_token_keys[0].bytes == std::string(32, 'P'));
  BOOST_TEST(c.previous_token_keys[1].bytes == std::string(32, 'Q'));
  BOOST_TEST(c.previous_token_keys[0].id != c.token_key.id);
  BOOST_TEST(c.amo_client_id == "6f1b6a52-3c2d-4e8f-9a0b-1c2d3e4f5a6b");
  BOOST_TEST(c.amo_client_secret == kClientSecret);
  BOOST_TEST(c.amo_redirect_uri ==
             "https://api.foryou.example/api/v1/integrations/amo-crm/callback");
  BOOST_TEST(c.amo_domain == "reforyou.amocrm.ru");
  BOOST_TEST(c.amo_account_id.value_or("") == "31920194");
  BOOST_TEST(c.amo_api_domain.value_or("") == "api-b.amocrm.ru");
  BOOST_TEST(c.amo_allowed_domains == (std::vector<std::string>{"amocrm.ru", "kommo.com"}),
             boost::test_tools::per_element());
  BOOST_TEST(c.amo_auth_url == "https://www.kommo.com/oauth");
  BOOST_TEST(c.amo_auth_mode == "popup");
  BOOST_TEST(c.amo_base_url.value_or("") == "http://127.0.0.1:9180");  // trailing '/' dropped
  BOOST_TEST(c.app_deep_link == "foryoure-dev://amo-crm/callback");
  BOOST_TEST(c.fcgi_socket == "127.0.0.1:9000");
  BOOST_TEST(c.worker_threads == 4);
  BOOST_TEST(c.db_pool_size == 3);
  BOOST_TEST(c.db_pool_wait_ms == 1500);
  BOOST_TEST(c.amo_http_timeout_ms == 2500);
  BOOST_TEST(c.templates_dir == "/opt/amo/templates");
  BOOST_TEST(c.amo_state_ttl_s == 600);
  BOOST_TEST(c.amo_keepalive_days == 14);
  BOOST_TEST(c.amo_rate_limit_rps == 2.5);
  BOOST_TEST(c.amo_rate_limit_max_wait_ms == 0);
  BOOST_TEST(c.shutdown_grace_s == 5);
  BOOST_TEST(static_cast<int>(c.log_level) == static_cast<int>(LogLevel::kDebug));
}

BOOST_AUTO_TEST_CASE(defaults_per_spec) {
  // Every optional setting left unset has the default of docs/CONFIGURATION.md.
  Config c = load(minimal_env());
  BOOST_TEST(c.previous_token_keys.empty());
  BOOST_TEST(!c.amo_account_id.has_value());
  BOOST_TEST(!c.amo_api_domain.has_value());
  BOOST_TEST(!c.amo_base_url.has_value());
  BOOST_TEST(
      c.amo_allowed_domains == (std::vector<std::string>{"amocrm.ru", "amocrm.com", "kommo.com"}),
      boost::test_tools::per_element());
  BOOST_TEST(c.amo_auth_url == "https://www.amocrm.ru/oauth");
  BOOST_TEST(c.amo_auth_mode == "post_message");
  BOOST_TEST(c.app_deep_link == "foryoure://amo-crm/callback");
  BOOST_TEST(c.fcgi_socket == "/run/amo-connect/amo-connect.sock");
  BOOST_TEST(c.worker_threads == 16);
  BOOST_TEST(c.db_pool_size == 8);
  BOOST_TEST(c.db_pool_wait_ms == 2000);
  BOOST_TEST(c.amo_http_timeout_ms == 10000);
  // /usr/share/amo-connect/templates under the install prefix of this build.
  const std::string datadir = AMO_DEFAULT_DATADIR, share = "/share/amo-connect";
  BOOST_TEST(c.templates_dir == datadir + "/templates");
  BOOST_TEST((datadir.size() > share.size() &&
              datadir.compare(datadir.size() - share.size(), share.size(), share) == 0));
  BOOST_TEST(c.amo_state_ttl_s == 900);
  BOOST_TEST(c.amo_keepalive_days == 30);
  BOOST_TEST(c.amo_rate_limit_rps == 7.0);
  BOOST_TEST(c.amo_rate_limit_max_wait_ms == 5000);
  BOOST_TEST(c.shutdown_grace_s == 20);
  BOOST_TEST(static_cast<int>(c.log_level) == static_cast<int>(LogLevel::kInfo));
}

BOOST_AUTO_TEST_CASE(documented_defaults_are_the_defaults) {
  // The optional table of docs/CONFIGURATION.md, row by row: its default column is what
  // check-config (describe()) prints when the variable is unset.
  const std::map<std::string, std::string> described = [] {
    std::map<std::string, std::string> m;
    for (auto& line : load(minimal_env()).describe())
      m[line.substr(0, line.find('='))] = line.substr(line.find('=') + 1);
    return m;
  }();
  // Defaults the table spells differently from describe().
  const std::map<std::string, std::pair<std::string, std::string>> spelled = {
      {"TOKEN_ENCRYPTION_PREVIOUS_KEYS", {"(none)", "(unset)"}},
      {"AMO_ACCOUNT_ID", {"(any account)", "(unset)"}},
      {"AMO_BASE_URL", {"(unset: `https://<account host>`)", "(unset)"}},
      {"TEMPLATES_DIR",
       {"`/usr/share/amo-connect/templates`", std::string(AMO_DEFAULT_DATADIR) + "/templates"}},
      {"AMO_RATE_LIMIT_RPS", {"7", "7.000000"}},
  };
  std::ifstream in(std::string(AMO_SOURCE_DIR) + "/docs/CONFIGURATION.md");
  BOOST_REQUIRE(in);
  std::string line;
  bool optional_table = false;
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) optional_table = line == "## Optional";
    if (!optional_table || line.rfind("| `", 0) != 0) continue;
    // | `NAME` | default | rule | meaning |
    std::vector<std::string> cells;
    for (size_t p = 1; p < line.size();) {
      size_t q = line.find(" | ", p);
      if (q == std::string::npos) q = line.rfind(" |");
      std::string cell = line.substr(p, q - p);
      cell.erase(0, cell.find_first_not_of(' '));
      cells.push_back(cell);
      p = q + 3;
      if (q + 2 >= line.size()) break;
    }
    BOOST_REQUIRE_MESSAGE(cells.size() >= 2u, line);
    std::string name = cells[0].substr(1, cells[0].size() - 2);  // strip the backticks
    std::string doc = cells[1];
    seen.insert(name);
    if (name == "SQL_DIR") continue;  // read by `migrate`, not part of Config
    BOOST_TEST_CONTEXT(name << ": documented default " << doc) {
      BOOST_REQUIRE(described.count(name) == 1u);
      std::string want = doc;
      if (auto it = spelled.find(name); it != spelled.end()) {
        BOOST_TEST(doc == it->second.first);
        want = it->second.second;
      } else if (want.size() >= 2 && want.front() == '`' && want.back() == '`') {
        want = want.substr(1, want.size() - 2);
      }
      BOOST_TEST(described.at(name) == want);
    }
  }
  // Every optional variable Config knows is in the table.
  for (auto& [name, value] : described) {
    bool required = false;
    for (const char* r : kRequired) required = required || name == r;
    if (!required) BOOST_TEST(seen.count(name) == 1u, name << " is not in the optional table");
  }
}

BOOST_AUTO_TEST_CASE(each_required_variable_missing) {
  for (const char* name : kRequired) {
    BOOST_TEST_CONTEXT("missing " << name) {
      Env env = minimal_env();
      env.erase(name);
      expect_error(env, name);
    }
    BOOST_TEST_CONTEXT("empty " << name) {
      Env env = minimal_env();
      env[name] = "";
      expect_error(env, name);
    }
  }
  // Nothing set at all: the first one is named.
  expect_error(Env{}, "DATABASE_URL");
}

BOOST_AUTO_TEST_CASE(database_url_alone) {
  Env env{{"DATABASE_URL", "postgresql:///amo"}};
  auto get = [&env](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  BOOST_TEST(Config::database_url_from_env(get) == "postgresql:///amo");
  env.clear();
  try {
    Config::database_url_from_env(get);
    BOOST_ERROR("accepted without DATABASE_URL");
  } catch (const ConfigError& e) {
    BOOST_TEST(starts_with(e.what(), "DATABASE_URL:"));
  }
}

BOOST_AUTO_TEST_CASE(jwt_secret_length) {
  expect_bad("JWT_SECRET", std::string(31, 's'));
  expect_bad("JWT_SECRET", "short-secret");
  BOOST_TEST(with("JWT_SECRET", std::string(32, 's')).jwt_secret == std::string(32, 's'));
}

BOOST_AUTO_TEST_CASE(token_encryption_key) {
  expect_bad("TOKEN_ENCRYPTION_KEY", "this is not base64 at all!!");
  expect_bad("TOKEN_ENCRYPTION_KEY", amo::crypto::base64_encode(std::string(16, 'k')));
  expect_bad("TOKEN_ENCRYPTION_KEY", amo::crypto::base64_encode(std::string(31, 'k')));
  expect_bad("TOKEN_ENCRYPTION_KEY", amo::crypto::base64_encode(std::string(33, 'k')));
  expect_bad("TOKEN_ENCRYPTION_KEY", std::string(64, 'a'));  // hex of 32 bytes, not base64 of 32
  // Unpadded base64 of 32 bytes is still 32 bytes.
  std::string unpadded = kKeyB64;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
  BOOST_TEST(with("TOKEN_ENCRYPTION_KEY", unpadded).token_key.bytes == std::string(32, 'K'));
}

BOOST_AUTO_TEST_CASE(previous_keys) {
  expect_bad("TOKEN_ENCRYPTION_PREVIOUS_KEYS", "not-a-key");
  expect_bad("TOKEN_ENCRYPTION_PREVIOUS_KEYS", kPrevKey1 + ",garbage!!");
  expect_bad("TOKEN_ENCRYPTION_PREVIOUS_KEYS",
             kPrevKey1 + "," + amo::crypto::base64_encode(std::string(24, 'x')));
  Config one = with("TOKEN_ENCRYPTION_PREVIOUS_KEYS", kPrevKey1);
  BOOST_REQUIRE(one.previous_token_keys.size() == 1u);
  BOOST_TEST(one.previous_token_keys[0].bytes == std::string(32, 'P'));
  // Blanks around items and empty items are ignored.
  Config two = with("TOKEN_ENCRYPTION_PREVIOUS_KEYS", " " + kPrevKey1 + ",, " + kPrevKey2 + " ,");
  BOOST_TEST(two.previous_token_keys.size() == 2u);
}

BOOST_AUTO_TEST_CASE(redirect_uri) {
  expect_bad("AMO_REDIRECT_URI", "not a url");
  expect_bad("AMO_REDIRECT_URI", "api.foryou.example/callback");
  expect_bad("AMO_REDIRECT_URI", "ftp://api.foryou.example/callback");
  expect_bad("AMO_REDIRECT_URI", "https://");
  expect_bad("AMO_REDIRECT_URI", "https://api.foryou.example/call back");
  expect_bad("AMO_REDIRECT_URI", "https://api.foryou.example/\"cb\"");
  BOOST_TEST(
      with("AMO_REDIRECT_URI", "http://127.0.0.1:8080/api/amo-crm/callback").amo_redirect_uri ==
      "http://127.0.0.1:8080/api/amo-crm/callback");
}

BOOST_AUTO_TEST_CASE(amo_domain) {
  expect_bad("AMO_DOMAIN", "reforyou amocrm.ru");
  expect_bad("AMO_DOMAIN", " reforyou.amocrm.ru");
  expect_bad("AMO_DOMAIN", "https://reforyou.amocrm.ru");
  expect_bad("AMO_DOMAIN", "reforyou.amocrm.ru/");
  expect_bad("AMO_DOMAIN", ".amocrm.ru");
  expect_bad("AMO_DOMAIN", "reforyou..amocrm.ru");
  expect_bad("AMO_DOMAIN", "reforyou.amocrm.ru:443");
  BOOST_TEST(with("AMO_DOMAIN", "my-agency.kommo.com").amo_domain == "my-agency.kommo.com");
  expect_bad("AMO_API_DOMAIN", "api b.amocrm.ru");
}

BOOST_AUTO_TEST_CASE(account_id) {
  expect_bad("AMO_ACCOUNT_ID", "abc");
  expect_bad("AMO_ACCOUNT_ID", "3192O194");
  expect_bad("AMO_ACCOUNT_ID", "-31920194");
  expect_bad("AMO_ACCOUNT_ID", "31920194 ");
  BOOST_TEST(with("AMO_ACCOUNT_ID", "31920194").amo_account_id.value_or("") == "31920194");
}

BOOST_AUTO_TEST_CASE(integers) {
  for (const char* name : {"WORKER_THREADS", "DB_POOL_SIZE"}) {
    expect_bad(name, "0");
    expect_bad(name, "abc");
    expect_bad(name, "-4");
    expect_bad(name, "8x");
    expect_bad(name, "4.5");
    expect_bad(name, "100000");
    expect_bad(name, "99999999999999999999999");  // overflows long
  }
  BOOST_TEST(with("WORKER_THREADS", "1").worker_threads == 1);
  BOOST_TEST(with("WORKER_THREADS", "64").worker_threads == 64);
  BOOST_TEST(with("DB_POOL_SIZE", "32").db_pool_size == 32);
  expect_bad("AMO_HTTP_TIMEOUT_MS", "0");
  expect_bad("AMO_STATE_TTL_S", "soon");
  expect_bad("AMO_KEEPALIVE_DAYS", "0");
  expect_bad("AMO_KEEPALIVE_DAYS", "365");  // refresh tokens die after 3 months
  expect_bad("DB_POOL_WAIT_MS", "-1");
}

BOOST_AUTO_TEST_CASE(log_level) {
  expect_bad("LOG_LEVEL", "bogus");
  expect_bad("LOG_LEVEL", "INFO ");
  expect_bad("LOG_LEVEL", "trace");
  BOOST_TEST(static_cast<int>(with("LOG_LEVEL", "error").log_level) ==
             static_cast<int>(LogLevel::kError));
  BOOST_TEST(static_cast<int>(with("LOG_LEVEL", "warn").log_level) ==
             static_cast<int>(LogLevel::kWarn));
  BOOST_TEST(static_cast<int>(with("LOG_LEVEL", "info").log_level) ==
             static_cast<int>(LogLevel::kInfo));
}

BOOST_AUTO_TEST_CASE(rate_limit_rps) {
  expect_bad("AMO_RATE_LIMIT_RPS", "0");
  expect_bad("AMO_RATE_LIMIT_RPS", "0.0");
  expect_bad("AMO_RATE_LIMIT_RPS", "-7");
  expect_bad("AMO_RATE_LIMIT_RPS", "fast");
  expect_bad("AMO_RATE_LIMIT_RPS", "7rps");
  expect_bad("AMO_RATE_LIMIT_RPS", "nan");
  expect_bad("AMO_RATE_LIMIT_RPS", "inf");
  expect_bad("AMO_RATE_LIMIT_RPS", "1001");
  BOOST_TEST(with("AMO_RATE_LIMIT_RPS", "0.5").amo_rate_limit_rps == 0.5);
  BOOST_TEST(with("AMO_RATE_LIMIT_RPS", "7").amo_rate_limit_rps == 7.0);
}

BOOST_AUTO_TEST_CASE(allowed_domains) {
  using V = std::vector<std::string>;
  BOOST_TEST(with("AMO_ALLOWED_DOMAINS", "amocrm.ru").amo_allowed_domains == V{"amocrm.ru"},
             boost::test_tools::per_element());
  BOOST_TEST(with("AMO_ALLOWED_DOMAINS", " amocrm.ru ,\tkommo.com , ,").amo_allowed_domains ==
                 (V{"amocrm.ru", "kommo.com"}),
             boost::test_tools::per_element());
  expect_bad("AMO_ALLOWED_DOMAINS", ",,,");
  expect_bad("AMO_ALLOWED_DOMAINS", " , ");
  expect_bad("AMO_ALLOWED_DOMAINS", "amocrm.ru,bad domain.com");
  expect_bad("AMO_ALLOWED_DOMAINS", "*.amocrm.ru");
  expect_bad("AMO_ALLOWED_DOMAINS", "amocrm.ru;kommo.com");
  expect_bad("AMO_ALLOWED_DOMAINS", "https://amocrm.ru");
}

BOOST_AUTO_TEST_CASE(other_optional_values) {
  expect_bad("AMO_AUTH_MODE", "redirect");
  expect_bad("AMO_AUTH_URL", "www.amocrm.ru/oauth");
  expect_bad("AMO_BASE_URL", "127.0.0.1:9180");
  expect_bad("APP_DEEP_LINK", "foryoure");
  expect_bad("APP_DEEP_LINK", "foryoure://amo-crm/callback?x=1");
  expect_bad("APP_DEEP_LINK", "foryoure://amo crm");
  BOOST_TEST(with("AMO_AUTH_MODE", "post_message").amo_auth_mode == "post_message");
  BOOST_TEST(with("AMO_BASE_URL", "http://127.0.0.1:9180").amo_base_url.value_or("") ==
             "http://127.0.0.1:9180");
}

BOOST_AUTO_TEST_CASE(describe_masks_secrets) {
  Env env = minimal_env();
  env["DATABASE_URL"] = "postgresql://amo_app:" + kDbPassword + "@db.example:5432/amo";
  env["TOKEN_ENCRYPTION_PREVIOUS_KEYS"] = kPrevKey1 + "," + kPrevKey2;
  Config c = load(env);
  std::string out = joined(c.describe());
  BOOST_TEST_INFO("describe():\n" << out);
  BOOST_TEST(!contains(out, kJwtSecret));
  BOOST_TEST(!contains(out, kClientSecret));
  BOOST_TEST(!contains(out, kKeyB64));
  BOOST_TEST(!contains(out, kPrevKey1));
  BOOST_TEST(!contains(out, kPrevKey2));
  BOOST_TEST(!contains(out, std::string(32, 'K')));
  BOOST_TEST(!contains(out, kDbPassword));
  // Still useful: non-secret values and the key ids are shown, and every variable is there.
  BOOST_TEST(contains(out, "host=db.example"));
  BOOST_TEST(contains(out, "port=5432"));
  BOOST_TEST(contains(out, "dbname=amo"));
  BOOST_TEST(contains(out, "password=****"));
  BOOST_TEST(contains(out, "AMO_CLIENT_ID=6f1b6a52-3c2d-4e8f-9a0b-1c2d3e4f5a6b\n"));
  BOOST_TEST(contains(out, "AMO_DOMAIN=reforyou.amocrm.ru\n"));
  BOOST_TEST(contains(out, c.token_key.id));
  BOOST_TEST(contains(out, c.previous_token_keys[0].id));
  for (const char* name : kRequired) BOOST_TEST(contains(out, std::string(name) + "="));
  for (const char* name : {"WORKER_THREADS=", "DB_POOL_SIZE=", "LOG_LEVEL=info\n",
                           "AMO_ALLOWED_DOMAINS=amocrm.ru,amocrm.com,kommo.com\n"})
    BOOST_TEST(contains(out, name));
  for (auto& line : c.describe()) BOOST_TEST(!contains(line, "\n"));
}

BOOST_AUTO_TEST_CASE(describe_masks_database_password_forms) {
  const std::vector<std::string> urls = {
      // URI with user:password@
      "postgresql://amo_app:" + kDbPassword + "@db.example/amo",
      "postgres://amo_app:" + kDbPassword + "@db.example:5432/amo?sslmode=require",
      // URI with the password as a parameter
      "postgresql://amo_app@db.example/amo?password=" + kDbPassword + "&sslmode=require",
      "postgresql:///amo?host=/run/postgresql&password=" + kDbPassword,
      // key=value
      "host=db.example dbname=amo user=amo_app password=" + kDbPassword,
      "password=" + kDbPassword + " host=db.example dbname=amo",
      "host=db.example password='" + kDbPassword + "' dbname=amo",
      // libpq allows blanks around '=' in key=value strings: describe() must not rely on
      // the literal text "password=".
      "host=db.example user=amo_app password = " + kDbPassword + " dbname=amo",
      "host=db.example user=amo_app password =" + kDbPassword,
      // libpq also percent-decodes URI parameter names.
      "postgresql:///amo?host=/run/postgresql&pass%77ord=" + kDbPassword,
  };
  for (auto& url : urls) {
    BOOST_TEST_CONTEXT("DATABASE_URL=" << url) {
      Config c = with("DATABASE_URL", url);
      std::string out = joined(c.describe());
      BOOST_TEST(!contains(out, kDbPassword));
      BOOST_TEST(contains(out, "DATABASE_URL="));
    }
  }
  // Without a password nothing needs hiding.
  Config plain = with("DATABASE_URL", "postgresql:///amo?host=/run/postgresql");
  std::string plain_out = joined(plain.describe());
  BOOST_TEST(contains(plain_out, "DATABASE_URL=dbname=amo host=/run/postgresql\n"), plain_out);
}

BOOST_AUTO_TEST_CASE(leads_store_settings) {
  Config d = load(minimal_env());
  BOOST_TEST(d.leads_fresh_s == 5);
  BOOST_TEST(d.leads_stale_max_s == 86400);
  BOOST_TEST(d.leads_store_max_age_s == 86400);
  BOOST_TEST(d.leads_store_per_user == 100);
  BOOST_TEST(d.leads_store_max_entries == 100000);
  std::string shown = joined(d.describe());
  for (auto line :
       {"LEADS_FRESH_S=5\n", "LEADS_STALE_MAX_S=86400\n", "LEADS_STORE_MAX_AGE_S=86400\n",
        "LEADS_STORE_PER_USER=100\n", "LEADS_STORE_MAX_ENTRIES=100000\n"})
    BOOST_TEST(contains(shown, line), line);
  Env env = minimal_env();
  env["LEADS_FRESH_S"] = "0";
  env["LEADS_STALE_MAX_S"] = "0";
  env["LEADS_STORE_PER_USER"] = "1";
  env["LEADS_STORE_MAX_ENTRIES"] = "1";
  Config off = load(env);
  BOOST_TEST(off.leads_fresh_s == 0);
  BOOST_TEST(off.leads_stale_max_s == 0);
  BOOST_TEST(contains(joined(off.describe()), "LEADS_FRESH_S=0 (the leads store is off)\n"));
  // The maximum age follows a longer stale window unless it is set.
  BOOST_TEST(with("LEADS_STALE_MAX_S", "172800").leads_store_max_age_s == 172800);
  Env short_env = minimal_env();
  short_env["LEADS_STALE_MAX_S"] = "300";
  short_env["LEADS_STORE_MAX_AGE_S"] = "600";
  BOOST_TEST(load(short_env).leads_store_max_age_s == 600);
  short_env.erase("LEADS_STORE_MAX_AGE_S");
  BOOST_TEST(load(short_env).leads_store_max_age_s == 86400);
  for (auto [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"LEADS_FRESH_S", "-1"},
                                                        {"LEADS_FRESH_S", "3601"},
                                                        {"LEADS_FRESH_S", "5s"},
                                                        {"LEADS_STALE_MAX_S", "2592001"},
                                                        {"LEADS_STORE_MAX_AGE_S", "59"},
                                                        {"LEADS_STORE_PER_USER", "0"},
                                                        {"LEADS_STORE_MAX_ENTRIES", "0"}})
    expect_bad(name, value);
  // Relations: stale ≥ fresh (or 0), max age ≥ both, global cap ≥ per-user cap.
  Env e1 = minimal_env();
  e1["LEADS_FRESH_S"] = "60";
  e1["LEADS_STALE_MAX_S"] = "30";
  expect_error(e1, "LEADS_STALE_MAX_S");
  e1["LEADS_STALE_MAX_S"] = "0";
  BOOST_TEST(load(e1).leads_stale_max_s == 0);
  Env e2 = minimal_env();
  e2["LEADS_STALE_MAX_S"] = "7200";
  e2["LEADS_STORE_MAX_AGE_S"] = "3600";
  expect_error(e2, "LEADS_STORE_MAX_AGE_S");
  Env e3 = minimal_env();
  e3["LEADS_STORE_PER_USER"] = "500";
  e3["LEADS_STORE_MAX_ENTRIES"] = "499";
  expect_error(e3, "LEADS_STORE_MAX_ENTRIES");
}

BOOST_AUTO_TEST_SUITE_END()
