#include "util/json.hpp"

#include <rapidjson/error/en.h>

#include "http/errors.hpp"

namespace amo::json {

std::string write(const std::function<void(Writer&)>& fill) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  fill(w);
  return std::string(buf.GetString(), buf.GetSize());
}

namespace {
// Length of the valid UTF-8 sequence at s[i], or 0 when it is not valid.
size_t utf8_len(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  if (n == 3 && ((c == 0xE0 && b(i + 1) < 0xA0) || (c == 0xED && b(i + 1) >= 0xA0))) return 0;
  if (n == 4 && ((c == 0xF0 && b(i + 1) < 0x90) || (c == 0xF4 && b(i + 1) >= 0x90))) return 0;
  return n;
}
}  // namespace

void str(Writer& w, std::string_view s) {
  // Text from amoCRM or a request may be invalid UTF-8: never write invalid JSON.
  size_t i = 0;
  while (i < s.size()) {
    size_t n = utf8_len(s, i);
    if (n == 0) break;
    i += n;
  }
  if (i == s.size()) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return;
  }
  std::string clean(s.substr(0, i));
  while (i < s.size()) {
    size_t n = utf8_len(s, i);
    if (n == 0) {
      clean += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      clean.append(s.substr(i, n));
      i += n;
    }
  }
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
}
void str_or_null(Writer& w, const std::optional<std::string>& s) {
  if (s)
    str(w, *s);
  else
    w.Null();
}
void kv(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  str(w, value);
}
void kv(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  str(w, value);
}
void kv(Writer& w, const char* key, const char* value) {
  w.Key(key);
  str(w, value);
}
void kv(Writer& w, const char* key, int value) {
  w.Key(key);
  w.Int(value);
}
void kv(Writer& w, const char* key, const std::optional<std::string>& value) {
  w.Key(key);
  str_or_null(w, value);
}
void kv(Writer& w, const char* key, bool value) {
  w.Key(key);
  w.Bool(value);
}
void kv(Writer& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}

bool try_parse(const std::string& text, rapidjson::Document& out) {
  out.Parse<rapidjson::kParseStopWhenDoneFlag>(text.c_str(), text.size());
  if (out.HasParseError()) return false;
  return true;
}

rapidjson::Document parse_object(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str(), body.size());
  if (d.HasParseError()) {
    throw http::ApiError(http::Err::kInvalidJson,
                         std::string("Request body is not valid JSON: ") +
                             rapidjson::GetParseError_En(d.GetParseError()));
  }
  if (!d.IsObject()) {
    throw http::ApiError(http::Err::kInvalidJson, "Request body must be a JSON object");
  }
  return d;
}

std::optional<std::string> get_string(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) return std::nullopt;
  if (!it->value.IsString()) {
    throw http::ApiError(http::Err::kInvalidParameter,
                         std::string("Field '") + name + "' must be a string");
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<int64_t> get_int(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) return std::nullopt;
  if (!it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

}  // namespace amo::json
