#include "auth/jwt.hpp"

#include <rapidjson/document.h>

#include <cmath>
#include <optional>

#include "core/text.hpp"
#include "crypto/crypto.hpp"
#include "util/json.hpp"

namespace amo::auth {

namespace {

constexpr size_t kMaxTokenLen = 8 * 1024;

[[noreturn]] void fail(const char* why) { throw JwtError(why); }

// A document whose allocator starts in a buffer of its own: a token's header or payload
// fits in it, so a request's two parses allocate no 64 KiB pool chunk each (a larger
// segment still parses, its allocator then takes chunks from the heap).
class SegmentDoc {
 public:
  SegmentDoc() : alloc_(buf_, sizeof buf_), doc_(&alloc_) {}
  SegmentDoc(const SegmentDoc&) = delete;
  SegmentDoc& operator=(const SegmentDoc&) = delete;
  rapidjson::Document& doc() { return doc_; }

 private:
  alignas(16) char buf_[2048];
  rapidjson::MemoryPoolAllocator<> alloc_;
  rapidjson::Document doc_;
};

// Parses one base64url segment as a JSON object (strict: no trailing content) into doc.
void parse_segment(std::string_view segment, rapidjson::Document& doc) {
  auto raw = crypto::base64url_decode(segment);
  if (!raw) fail("malformed token");
  if (json::parse(*raw, doc, json::kRequestLimits) != json::ParseFail::kNone || !doc.IsObject())
    fail("malformed token");
}

// Number of members named `name`; a claim we rely on must not be ambiguous.
size_t count_members(const rapidjson::Value& obj, const char* name) {
  size_t n = 0;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == name) ++n;
  }
  return n;
}

// The member `name`, or nullptr when absent; throws when it appears more than once.
const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
  if (count_members(obj, name) > 1) fail("malformed token");
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::optional<double> time_claim(const rapidjson::Value& payload, const char* name) {
  const rapidjson::Value* v = member(payload, name);
  if (v == nullptr) return std::nullopt;
  if (!v->IsNumber()) fail("malformed token");
  return v->GetDouble();
}

std::string user_id_from(const rapidjson::Value& v) {
  if (v.IsString()) {
    std::string s(v.GetString(), v.GetStringLength());
    if (!valid_user_id(s)) fail("no user id in token");
    return s;
  }
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsDouble()) {
    double d = v.GetDouble();
    // Exact integers representable as int64 (|d| < 2^63).
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9223372036854775808.0) {
      return std::to_string(static_cast<int64_t>(d));
    }
  }
  fail("no user id in token");
}

}  // namespace

bool valid_user_id(std::string_view s) {
  // Stored as text: it must be valid UTF-8 (no overlong forms, no lone surrogates).
  if (s.empty() || s.size() > kMaxUserIdLen || !core::valid_utf8(s)) return false;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) return false;  // control chars, NUL
  }
  return true;
}

std::string verify_jwt(std::string_view token, std::string_view secret, int64_t now_unix,
                       int leeway_s) {
  if (secret.empty()) fail("jwt secret not configured");
  if (token.empty() || token.size() > kMaxTokenLen) fail("malformed token");

  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) fail("malformed token");
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    fail("malformed token");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view sig_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty()) fail("malformed token");

  // 1. Header: only HS256 is acceptable, decided by us and not by the token.
  {
    SegmentDoc storage;
    rapidjson::Document& header = storage.doc();
    parse_segment(header_b64, header);
    const rapidjson::Value* alg = member(header, "alg");
    if (alg == nullptr || !alg->IsString() ||
        std::string_view(alg->GetString(), alg->GetStringLength()) != "HS256") {
      fail("unsupported alg");
    }
    if (header.HasMember("crit")) fail("unsupported alg");  // no extensions understood
  }

  // 2. Signature over "<header>.<payload>", compared in constant time, before the payload.
  auto sig = crypto::base64url_decode(sig_b64);
  if (!sig) fail("malformed token");
  const std::string expected = crypto::hmac_sha256(secret, token.substr(0, dot2));
  if (!crypto::constant_time_equal(expected, *sig)) fail("bad signature");

  // 3. Payload.
  SegmentDoc storage;
  rapidjson::Document& payload = storage.doc();
  parse_segment(payload_b64, payload);
  const double now = static_cast<double>(now_unix);
  const double leeway = leeway_s > 0 ? static_cast<double>(leeway_s) : 0.0;
  if (auto exp = time_claim(payload, "exp"); exp && now > *exp + leeway) fail("token expired");
  if (auto nbf = time_claim(payload, "nbf"); nbf && now + leeway < *nbf) {
    fail("token not yet valid");
  }

  for (const char* name : {"sub", "userId", "id"}) {
    const rapidjson::Value* v = member(payload, name);
    if (v == nullptr || v->IsNull()) continue;  // absent or null: try the next claim
    return user_id_from(*v);
  }
  fail("no user id in token");
}

std::string sign_jwt_hs256(std::string_view payload_json, std::string_view secret) {
  static constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";
  std::string signing_input = crypto::base64url_encode(kHeader);
  signing_input.push_back('.');
  signing_input += crypto::base64url_encode(payload_json);
  const std::string sig = crypto::hmac_sha256(secret, signing_input);
  signing_input.push_back('.');
  signing_input += crypto::base64url_encode(sig);
  return signing_input;
}

}  // namespace amo::auth
