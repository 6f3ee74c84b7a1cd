#include <boost/test/unit_test.hpp>
#include <string>

#include "auth/jwt.hpp"
#include "crypto/crypto.hpp"

using amo::auth::JwtError;
using amo::auth::sign_jwt_hs256;
using amo::auth::verify_jwt;
using amo::crypto::base64url_encode;
using amo::crypto::hmac_sha256;

namespace {

const std::string kSecret = "test-jwt-secret-0123456789";
constexpr int64_t kNow = 1'700'000'000;

// Builds a token from raw header/payload JSON, signed with HS256 over the encoded segments.
std::string craft(const std::string& header_json, const std::string& payload_json,
                  const std::string& secret = kSecret) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  return input + "." + base64url_encode(hmac_sha256(secret, input));
}

const std::string kHs256 = R"({"alg":"HS256","typ":"JWT"})";

// Expects verify_jwt to throw JwtError with exactly `message`.
void expect_reject(const std::string& token, const std::string& message,
                   const std::string& secret = kSecret, int64_t now = kNow) {
  try {
    verify_jwt(token, secret, now);
    BOOST_ERROR("token accepted, expected: " << message);
  } catch (const JwtError& e) {
    BOOST_TEST(std::string(e.what()) == message);
    // The message never echoes the token.
    if (!token.empty()) BOOST_TEST(std::string(e.what()).find(token) == std::string::npos);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(jwt)

BOOST_AUTO_TEST_CASE(valid_token_string_sub) {
  std::string t = sign_jwt_hs256(R"({"sub":"user-42","exp":1700003600,"iat":1700000000})", kSecret);
  BOOST_TEST(verify_jwt(t, kSecret, kNow) == "user-42");
  // Header shape produced by sign_jwt_hs256.
  BOOST_TEST(t.substr(0, t.find('.')) == base64url_encode(kHs256));
  // Hand-crafted header without typ is fine too.
  BOOST_TEST(verify_jwt(craft(R"({"alg":"HS256"})", R"({"sub":"abc"})"), kSecret, kNow) == "abc");
}

BOOST_AUTO_TEST_CASE(numeric_sub) {
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":12345})", kSecret), kSecret, kNow) == "12345");
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":0})", kSecret), kSecret, kNow) == "0");
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":9007199254740993})", kSecret), kSecret, kNow) ==
             "9007199254740993");
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":18446744073709551615})", kSecret), kSecret,
                        kNow) == "18446744073709551615");
  // A double that is an exact integer.
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":42.0})", kSecret), kSecret, kNow) == "42");
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":1e3})", kSecret), kSecret, kNow) == "1000");
  // Not an integer.
  expect_reject(sign_jwt_hs256(R"({"sub":42.5})", kSecret), "no user id in token");
  expect_reject(sign_jwt_hs256(R"({"sub":1e300})", kSecret), "no user id in token");
}

BOOST_AUTO_TEST_CASE(user_id_fallbacks) {
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"userId":"u-7"})", kSecret), kSecret, kNow) == "u-7");
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"userId":77})", kSecret), kSecret, kNow) == "77");
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"id":"i-9"})", kSecret), kSecret, kNow) == "i-9");
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"id":99})", kSecret), kSecret, kNow) == "99");
  // Precedence: sub > userId > id.
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"id":"c","userId":"b","sub":"a"})", kSecret), kSecret,
                        kNow) == "a");
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"id":"c","userId":"b"})", kSecret), kSecret, kNow) ==
             "b");
  // null counts as absent.
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":null,"id":"c"})", kSecret), kSecret, kNow) == "c");
}

BOOST_AUTO_TEST_CASE(missing_or_bad_user_id) {
  expect_reject(sign_jwt_hs256(R"({})", kSecret), "no user id in token");
  expect_reject(sign_jwt_hs256(R"({"name":"x","exp":1700003600})", kSecret), "no user id in token");
  expect_reject(sign_jwt_hs256(R"({"sub":""})", kSecret), "no user id in token");
  expect_reject(sign_jwt_hs256(R"({"sub":true})", kSecret), "no user id in token");
  expect_reject(sign_jwt_hs256(R"({"sub":{"id":1}})", kSecret), "no user id in token");
  expect_reject(sign_jwt_hs256(R"({"sub":[1]})", kSecret), "no user id in token");
  expect_reject(sign_jwt_hs256(R"({"sub":"a\u0000b"})", kSecret), "no user id in token");
  expect_reject(sign_jwt_hs256(R"({"sub":null})", kSecret), "no user id in token");
  // Length limit: 128 bytes ok, 129 rejected.
  std::string ok(128, 'u');
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":")" + ok + "\"}", kSecret), kSecret, kNow) == ok);
  expect_reject(sign_jwt_hs256(R"({"sub":")" + ok + "u\"}", kSecret), "no user id in token");
  // An invalid sub does not silently fall back to another claim.
  expect_reject(sign_jwt_hs256(R"({"sub":"","id":"x"})", kSecret), "no user id in token");
}

BOOST_AUTO_TEST_CASE(expiry_and_leeway) {
  // Expired beyond the 60 s leeway.
  expect_reject(sign_jwt_hs256(R"({"sub":"u","exp":1699999939})", kSecret), "token expired");
  expect_reject(sign_jwt_hs256(R"({"sub":"u","exp":1600000000})", kSecret), "token expired");
  // Expired, but within the leeway.
  BOOST_TEST(
      verify_jwt(sign_jwt_hs256(R"({"sub":"u","exp":1699999940})", kSecret), kSecret, kNow) == "u");
  BOOST_TEST(
      verify_jwt(sign_jwt_hs256(R"({"sub":"u","exp":1699999970})", kSecret), kSecret, kNow) == "u");
  // Explicit leeway 0.
  std::string t = sign_jwt_hs256(R"({"sub":"u","exp":1699999999})", kSecret);
  BOOST_CHECK_THROW(verify_jwt(t, kSecret, kNow, 0), JwtError);
  BOOST_TEST(verify_jwt(t, kSecret, kNow - 1, 0) == "u");
  // Fractional exp.
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":"u","exp":1700000000.5})", kSecret), kSecret, kNow,
                        0) == "u");
  // exp must be a number.
  expect_reject(sign_jwt_hs256(R"({"sub":"u","exp":"1800000000"})", kSecret), "malformed token");
  expect_reject(sign_jwt_hs256(R"({"sub":"u","exp":null})", kSecret), "malformed token");
  // Huge exp does not overflow.
  BOOST_TEST(verify_jwt(sign_jwt_hs256(R"({"sub":"u","exp":9223372036854775807})", kSecret),
                        kSecret, kNow) == "u");
}

BOOST_AUTO_TEST_CASE(not_before) {
  expect_reject(sign_jwt_hs256(R"({"sub":"u","nbf":1700000061})", kSecret), "token not yet valid");
  expect_reject(sign_jwt_hs256(R"({"sub":"u","nbf":1800000000})", kSecret), "token not yet valid");
  // Within the leeway, or in the past.
  BOOST_TEST(
      verify_jwt(sign_jwt_hs256(R"({"sub":"u","nbf":1700000060})", kSecret), kSecret, kNow) == "u");
  BOOST_TEST(
      verify_jwt(sign_jwt_hs256(R"({"sub":"u","nbf":1600000000})", kSecret), kSecret, kNow) == "u");
  expect_reject(sign_jwt_hs256(R"({"sub":"u","nbf":"soon"})", kSecret), "malformed token");
}

BOOST_AUTO_TEST_CASE(wrong_key) {
  std::string t = sign_jwt_hs256(R"({"sub":"u"})", "another-secret");
  expect_reject(t, "bad signature");
  BOOST_CHECK_THROW(verify_jwt(sign_jwt_hs256(R"({"sub":"u"})", kSecret), "", kNow), JwtError);
}

BOOST_AUTO_TEST_CASE(alg_none_rejected) {
  const std::string payload = base64url_encode(R"({"sub":"admin"})");
  for (const char* header : {R"({"alg":"none","typ":"JWT"})", R"({"alg":"none"})",
                             R"({"alg":"None"})", R"({"alg":"NONE"})"}) {
    const std::string input = base64url_encode(header) + "." + payload;
    // Empty signature.
    expect_reject(input + ".", "unsupported alg");
    // With a (valid HMAC) signature.
    expect_reject(input + "." + base64url_encode(hmac_sha256(kSecret, input)), "unsupported alg");
  }
}

BOOST_AUTO_TEST_CASE(other_algs_rejected) {
  for (const char* header :
       {R"({"alg":"HS384","typ":"JWT"})", R"({"alg":"HS512"})", R"({"alg":"RS256"})",
        R"({"alg":"ES256"})", R"({"alg":"hs256"})", R"({"alg":"HS256 "})", R"({"typ":"JWT"})",
        R"({"alg":null})", R"({"alg":256})", R"({"alg":["HS256"]})", R"({})",
        R"({"alg":"HS256","crit":["exp"]})"}) {
    expect_reject(craft(header, R"({"sub":"u"})"), "unsupported alg");
  }
  // Duplicate alg keys are ambiguous.
  expect_reject(craft(R"({"alg":"HS256","alg":"none"})", R"({"sub":"u"})"), "malformed token");
}

BOOST_AUTO_TEST_CASE(garbage_strings) {
  for (const char* s : {"", ".", "..", "...", "a", "a.b.c", "abc.def.ghi", "not a token",
                        "Bearer x.y.z", "ey.ey.ey", "a.b.c.d", "....."}) {
    BOOST_CHECK_THROW(verify_jwt(s, kSecret, kNow), JwtError);
  }
  expect_reject("", "malformed token");
  expect_reject("a.b.c.d", "malformed token");
  // Whitespace around an otherwise valid token is not accepted.
  std::string t = sign_jwt_hs256(R"({"sub":"u"})", kSecret);
  BOOST_CHECK_THROW(verify_jwt(" " + t, kSecret, kNow), JwtError);
  BOOST_CHECK_THROW(verify_jwt(t + "\n", kSecret, kNow), JwtError);
}

BOOST_AUTO_TEST_CASE(two_segments) {
  std::string t = sign_jwt_hs256(R"({"sub":"u"})", kSecret);
  std::string two = t.substr(0, t.rfind('.'));
  expect_reject(two, "malformed token");
  expect_reject(two + ".", "bad signature");  // three segments, empty signature
  // Four segments.
  expect_reject(t + ".x", "malformed token");
}

BOOST_AUTO_TEST_CASE(bad_base64) {
  std::string t = sign_jwt_hs256(R"({"sub":"u"})", kSecret);
  const size_t d1 = t.find('.');
  const size_t d2 = t.rfind('.');
  const std::string h = t.substr(0, d1);
  const std::string p = t.substr(d1 + 1, d2 - d1 - 1);
  const std::string s = t.substr(d2 + 1);
  expect_reject("!!!!." + p + "." + s, "malformed token");
  expect_reject(h + ".*" + p + "." + s, "bad signature");  // signature covers the bad text
  expect_reject(h + "." + p + ".%%%", "malformed token");
  // Standard-alphabet characters in a base64url segment.
  std::string sig_std = s;
  for (char& c : sig_std) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (sig_std != s) expect_reject(h + "." + p + "." + sig_std, "malformed token");
  // Header that is base64 of non-JSON.
  expect_reject(base64url_encode("not json") + "." + p + "." + s, "malformed token");
  // Payload segment with bad base64 but a valid signature over it.
  const std::string input = h + ".@@@@";
  expect_reject(input + "." + base64url_encode(hmac_sha256(kSecret, input)), "malformed token");
}

BOOST_AUTO_TEST_CASE(payload_not_object) {
  for (const char* payload : {R"("user-1")", "42", "[1,2]", "null", "true", "not json",
                              R"({"sub":"u"} trailing)", R"({"sub":"u")", ""}) {
    expect_reject(craft(kHs256, payload), "malformed token");
  }
  // Header not an object.
  expect_reject(craft(R"(["HS256"])", R"({"sub":"u"})"), "malformed token");
  expect_reject(craft(R"("HS256")", R"({"sub":"u"})"), "malformed token");
}

BOOST_AUTO_TEST_CASE(tampered_payload) {
  std::string t = sign_jwt_hs256(R"({"sub":"user-1","exp":1700003600})", kSecret);
  const size_t d1 = t.find('.');
  const size_t d2 = t.rfind('.');
  const std::string forged = t.substr(0, d1) + "." +
                             base64url_encode(R"({"sub":"admin","exp":1700003600})") + t.substr(d2);
  expect_reject(forged, "bad signature");
  // Extending the expiry is also caught.
  const std::string extended = t.substr(0, d1) + "." +
                               base64url_encode(R"({"sub":"user-1","exp":1900003600})") +
                               t.substr(d2);
  expect_reject(extended, "bad signature");
  // Flipping one character of the signature.
  std::string flipped = t;
  flipped[d2 + 1] = flipped[d2 + 1] == 'A' ? 'B' : 'A';
  expect_reject(flipped, "bad signature");
  // Truncated signature (43 -> 40 characters still decodes cleanly, to 30 bytes).
  expect_reject(t.substr(0, t.size() - 3), "bad signature");
  // Header swapped for an equivalent one with the original signature.
  const std::string swapped = base64url_encode(R"({"typ":"JWT","alg":"HS256"})") + t.substr(d1);
  expect_reject(swapped, "bad signature");
}

BOOST_AUTO_TEST_CASE(size_limit) {
  std::string big(9000, 'a');
  std::string t = sign_jwt_hs256(R"({"sub":"u","pad":")" + big + "\"}", kSecret);
  BOOST_TEST(t.size() > 8192u);
  expect_reject(t, "malformed token");
  std::string ok(5000, 'a');
  std::string t2 = sign_jwt_hs256(R"({"sub":"u","pad":")" + ok + "\"}", kSecret);
  BOOST_TEST(t2.size() <= 8192u);
  BOOST_TEST(verify_jwt(t2, kSecret, kNow) == "u");
}

BOOST_AUTO_TEST_CASE(duplicate_claims_rejected) {
  expect_reject(sign_jwt_hs256(R"({"sub":"a","sub":"b"})", kSecret), "malformed token");
  expect_reject(sign_jwt_hs256(R"({"sub":"a","exp":1800000000,"exp":1})", kSecret),
                "malformed token");
}

BOOST_AUTO_TEST_SUITE_END()
