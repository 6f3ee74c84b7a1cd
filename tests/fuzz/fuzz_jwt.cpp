// Bearer tokens as a client sends them: auth::verify_jwt with a fixed secret, and the
// base64url codec it relies on. A fuzzed token cannot carry a valid signature, so this
// exercises the framing, the header and the codec; fuzz_jwt_signed reaches the payload.
#include "auth/jwt.hpp"
#include "crypto/crypto.hpp"
#include "jwt_check.hpp"

using namespace amo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view token = fuzz::as_text(data, size);
  try {
    fuzz::check_user_id(auth::verify_jwt(token, fuzz::kJwtSecret, fuzz::kJwtNow));
  } catch (const auth::JwtError& e) {
    FUZZ_CHECK(e.what()[0] != '\0', "JwtError without a message");
  }

  // The codec: what decodes re-encodes to the same text (less padding) and back.
  if (auto raw = crypto::base64url_decode(token)) {
    const std::string again = crypto::base64url_encode(*raw);
    FUZZ_CHECK(crypto::base64url_decode(again) == raw, "base64url does not round-trip");
    FUZZ_CHECK(again.find_first_of("+/=") == std::string::npos, "base64url_encode padded");
  }
  const std::string enc = crypto::base64url_encode(token);
  FUZZ_CHECK(crypto::base64url_decode(enc) == std::string(token), "decode(encode(x)) != x");
  return 0;
}
