// Bearer tokens signed with the service's secret, so verification reaches the payload:
// the first line of the input is the header JSON, the rest the payload JSON. A token that
// verifies must name its user the way the claims say; the same token with another
// signature or another secret never verifies.
#include <rapidjson/document.h>

#include "auth/jwt.hpp"
#include "crypto/crypto.hpp"
#include "jwt_check.hpp"

using namespace amo;

namespace {

std::string sign(std::string_view header, std::string_view payload, std::string_view secret) {
  std::string t = crypto::base64url_encode(header) + "." + crypto::base64url_encode(payload);
  const std::string sig = crypto::hmac_sha256(secret, t);
  return t + "." + crypto::base64url_encode(sig);
}

// The user id the claims spell, read independently of verify_jwt's code.
std::optional<std::string> expected_user(const rapidjson::Document& payload) {
  for (const char* name : {"sub", "userId", "id"}) {
    auto it = payload.FindMember(name);
    if (it == payload.MemberEnd() || it->value.IsNull()) continue;
    const auto& v = it->value;
    if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
    if (v.IsInt64()) return std::to_string(v.GetInt64());
    if (v.IsUint64()) return std::to_string(v.GetUint64());
    return std::nullopt;  // a double: its text is verify_jwt's to decide
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload;
  const std::string_view header = fuzz::first_line(fuzz::as_text(data, size), &payload);
  const std::string token = sign(header, payload, fuzz::kJwtSecret);

  std::string user;
  try {
    user = auth::verify_jwt(token, fuzz::kJwtSecret, fuzz::kJwtNow);
  } catch (const auth::JwtError&) {
    return 0;
  }
  fuzz::check_user_id(user);

  rapidjson::Document h, p;
  FUZZ_CHECK(json::parse(header, h, json::kRequestLimits) == json::ParseFail::kNone && h.IsObject(),
             "a token verified with a header that is not a bounded JSON object");
  FUZZ_CHECK(h.HasMember("alg") && h["alg"].IsString() &&
                 std::string_view(h["alg"].GetString()) == "HS256",
             "a token verified without alg HS256");
  FUZZ_CHECK(!h.HasMember("crit"), "a token verified with crit");
  FUZZ_CHECK(
      json::parse(payload, p, json::kRequestLimits) == json::ParseFail::kNone && p.IsObject(),
      "a token verified with a payload that is not a bounded JSON object");
  FUZZ_CHECK(fuzz::depth_of(p) <= json::kRequestLimits.max_depth, "payload deeper than the bound");
  if (auto it = p.FindMember("exp"); it != p.MemberEnd())
    FUZZ_CHECK(it->value.IsNumber() && fuzz::kJwtNow <= it->value.GetDouble() + 60,
               "an expired token verified");
  if (auto it = p.FindMember("nbf"); it != p.MemberEnd())
    FUZZ_CHECK(it->value.IsNumber() && fuzz::kJwtNow + 60 >= it->value.GetDouble(),
               "a token verified before nbf");
  if (auto want = expected_user(p))
    FUZZ_CHECK(*want == user, "verify_jwt named user '%s', the claims '%s'", user.c_str(),
               want->c_str());

  // Any other signature, or the right one under another secret, is refused.
  std::string forged = token;
  char& c = forged[forged.rfind('.') + 1];  // a whole sextet of the signature's first byte
  c = c == 'A' ? 'B' : 'A';
  for (const auto& [t, secret] :
       {std::pair<std::string, std::string_view>{forged, fuzz::kJwtSecret},
        {token, "another-secret"}}) {
    try {
      auth::verify_jwt(t, secret, fuzz::kJwtNow);
      FUZZ_CHECK(false, "a token verified with a wrong signature");
    } catch (const auth::JwtError& e) {
      FUZZ_CHECK(std::string_view(e.what()) == "bad signature", "wrong signature refused as '%s'",
                 e.what());
    }
  }
  return 0;
}
