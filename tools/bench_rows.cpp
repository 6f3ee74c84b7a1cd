// amo-bench-rows: connected users whose tokens the server can decrypt, as PostgreSQL COPY
// text for amo_connection (tools/bench.sh loads them for the refresh-due run). Sealed with
// the server's own code (oauth::seal, TOKEN_ENCRYPTION_KEY from the environment).
//
//   amo-bench-rows USER_PREFIX COUNT REFRESH_PREFIX ACCOUNT_ID DOMAIN
//
// Row i (1..COUNT): user USER_PREFIX<i>, refresh token REFRESH_PREFIX<i> (the simulator's
// POST /_sim/seed-refresh makes those live), an access token of a realistic size, expiring
// in a day, last refreshed 60 days ago (due for refresh-due). Columns, in this order:
// user_id account_id domain account_name access_token_enc refresh_token_enc key_id
// expires_at last_refresh_at
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>

#include "crypto/crypto.hpp"
#include "oauth/tokens.hpp"

namespace {

std::string utc(std::time_t t) {
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+00", &tm);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: amo-bench-rows USER_PREFIX COUNT REFRESH_PREFIX ACCOUNT_ID DOMAIN\n";
    return 2;
  }
  const char* key_b64 = std::getenv("TOKEN_ENCRYPTION_KEY");
  auto key = amo::crypto::key_from_base64(key_b64 ? key_b64 : "");
  if (!key) {
    std::cerr << "amo-bench-rows: TOKEN_ENCRYPTION_KEY must be base64 of 32 bytes\n";
    return 2;
  }
  const std::string user_prefix = argv[1], refresh_prefix = argv[3], account = argv[4],
                    domain = argv[5];
  const long count = std::strtol(argv[2], nullptr, 10);
  amo::crypto::TokenCipher cipher(*key);
  const std::time_t now = std::time(nullptr);
  const std::string expires = utc(now + 86400), last = utc(now - 60 * 86400);
  // An amoCRM access token is a JWT of about 800 bytes; the server only forwards it.
  const std::string access(800, 'a');
  std::string line;
  for (long i = 1; i <= count; ++i) {
    const std::string user = user_prefix + std::to_string(i);
    auto sealed = amo::oauth::seal(cipher, user, access, refresh_prefix + std::to_string(i));
    line.clear();
    line += user + '\t' + account + '\t' + domain + "\tBench account\t\\\\x";
    line += amo::crypto::hex(sealed.access) + "\t\\\\x" + amo::crypto::hex(sealed.refresh);
    line += '\t' + sealed.key_id + '\t' + expires + '\t' + last + '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}
