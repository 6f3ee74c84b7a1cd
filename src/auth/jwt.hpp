#pragma once
// HS256 JWT verification exactly as docs/API.md. Every alg but HS256 (including "none") is
// rejected.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace amo::auth {

struct JwtError : std::runtime_error {
  using std::runtime_error::runtime_error;  // message is safe to log (never the token)
};

// A user id as the service stores it: 1 to kMaxUserIdLen bytes of valid UTF-8 without
// control characters. A string `sub` must be one; the CLI checks its USER the same way.
inline constexpr size_t kMaxUserIdLen = 128;
bool valid_user_id(std::string_view s);

// Verifies signature, alg, exp and nbf (with leeway) and returns the user id: claim `sub`,
// else `userId`, else `id`; a string or an integer (written as decimal text).
std::string verify_jwt(std::string_view token, std::string_view secret, int64_t now_unix,
                       int leeway_s = 60);

// Signs `payload_json` (a JSON object) with HS256 — for tests, `make run` and the benchmark.
std::string sign_jwt_hs256(std::string_view payload_json, std::string_view secret);

}  // namespace amo::auth
