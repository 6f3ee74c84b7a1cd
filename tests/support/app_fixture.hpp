#pragma once
// The whole application without FastCGI and without a database: a real Config from a fake
// environment, a pool that cannot connect, the real templates, an amoCRM client pointed at
// nothing. App::handle can be driven directly; every route is registered.
#include <map>
#include <memory>
#include <string>

#include "amo/client.hpp"
#include "app/app.hpp"
#include "app/context.hpp"
#include "app/metrics.hpp"
#include "config/config.hpp"
#include "crypto/crypto.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "render/pages.hpp"
#include "store/pool.hpp"

namespace amo::test {

inline const std::string kUnitJwtSecret = "unit-test-jwt-secret-0123456789abcdef";

std::map<std::string, std::string> unit_env();

struct AppFixture {
  explicit AppFixture(std::map<std::string, std::string> overrides = {});
  ~AppFixture();

  std::map<std::string, std::string> env;
  Config cfg;
  crypto::TokenCipher cipher;
  store::Pool pool;
  Metrics metrics;
  amo_api::Client amo;
  render::Pages pages;
  Context ctx;
  App app;

  static http::Request req(const std::string& method, const std::string& path,
                           const std::string& query = {});
  std::string token(const std::string& payload) const;
  std::string valid_token(const std::string& user = "user-42") const;
  http::Response handle(http::Request r, bool too_large = false) {
    return app.handle(r, too_large);
  }
};

}  // namespace amo::test
