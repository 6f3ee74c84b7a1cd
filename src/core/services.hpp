#pragma once
// What the domain (oauth/, amo/) works with; built once per process, shared by every
// worker thread (each member is read-only or internally synchronised).
namespace amo {

struct Config;
class Metrics;
namespace store {
class Pool;
}
namespace crypto {
class TokenCipher;
}
namespace amo_api {
class Client;
}

struct Services {
  const Config& cfg;
  store::Pool& db;
  Metrics& metrics;
  const crypto::TokenCipher& cipher;
  amo_api::Client& amo;
};

}  // namespace amo
