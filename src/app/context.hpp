#pragma once
// The services a handler may use; built once in `serve`, shared (read-only or
// internally synchronised) by every worker thread.
#include "app/metrics.hpp"
#include "config/config.hpp"
#include "crypto/crypto.hpp"
#include "store/pool.hpp"

namespace amo {

namespace render {
class Pages;
}
namespace amo_api {
class Client;
}

struct Context {
  const Config& cfg;
  store::Pool& db;
  Metrics& metrics;
  const crypto::TokenCipher& cipher;
  const render::Pages* pages = nullptr;
  amo_api::Client* amo = nullptr;
};

}  // namespace amo
