#include "support/app_fixture.hpp"

#include <ctime>

#include "auth/jwt.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::test {

std::map<std::string, std::string> unit_env() {
  return {
      {"DATABASE_URL", "postgresql:///nope?host=/nonexistent/amo-connect-unit&connect_timeout=2"},
      {"JWT_SECRET", kUnitJwtSecret},
      {"TOKEN_ENCRYPTION_KEY", crypto::base64_encode(std::string(32, 'e'))},
      {"AMO_CLIENT_ID", "00000000-0000-4000-8000-000000000001"},
      {"AMO_CLIENT_SECRET", "unit-client-secret"},
      {"AMO_REDIRECT_URI", "http://127.0.0.1:8080/api/v1/integrations/amo-crm/callback"},
      {"AMO_DOMAIN", "reforyou.amocrm.ru"},
      {"AMO_BASE_URL", "http://127.0.0.1:9"},
      {"AMO_HTTP_TIMEOUT_MS", "1000"},
      {"DB_POOL_SIZE", "2"},
      {"DB_POOL_WAIT_MS", "200"},
      {"TEMPLATES_DIR", AMO_SOURCE_DIR "/templates"},
  };
}

namespace {
std::map<std::string, std::string> merged(std::map<std::string, std::string> overrides) {
  auto env = unit_env();
  for (auto& [k, v] : overrides) env[k] = v;
  return env;
}
}  // namespace

AppFixture::AppFixture(std::map<std::string, std::string> overrides)
    : env(merged(std::move(overrides))),
      cfg(Config::from_env([this](const char* n) -> const char* {
        auto it = env.find(n);
        return it == env.end() ? nullptr : it->second.c_str();
      })),
      cipher(cfg.token_key, cfg.previous_token_keys),
      pool(cfg.database_url, cfg.db_pool_size, cfg.db_pool_wait_ms, store::prepare_connection),
      amo(cfg, metrics),
      pages(cfg.templates_dir),
      ctx{{cfg, pool, metrics, cipher, amo}, pages},
      app(ctx) {
  log::set_level(LogLevel::kError);
}

AppFixture::~AppFixture() { log::set_level(LogLevel::kInfo); }

http::Request AppFixture::req(const std::string& method, const std::string& path,
                              const std::string& query) {
  http::Request r;
  r.method = method;
  r.path = path;
  r.query = query;
  r.remote_addr = "127.0.0.1";
  return r;
}

std::string AppFixture::token(const std::string& payload) const {
  return auth::sign_jwt_hs256(payload, kUnitJwtSecret);
}

std::string AppFixture::valid_token(const std::string& user) const {
  return token(R"({"sub":")" + user + R"(","exp":)" + std::to_string(std::time(nullptr) + 3600) +
               "}");
}

}  // namespace amo::test
