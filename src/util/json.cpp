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

void str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void str_or_null(Writer& w, const std::optional<std::string>& s) {
  if (s) str(w, *s); else w.Null();
}
void kv(Writer& w, const char* key, std::string_view value) { w.Key(key); str(w, value); }
void kv(Writer& w, const char* key, const std::string& value) { w.Key(key); str(w, value); }
void kv(Writer& w, const char* key, const char* value) { w.Key(key); str(w, value); }
void kv(Writer& w, const char* key, int value) { w.Key(key); w.Int(value); }
void kv(Writer& w, const char* key, const std::optional<std::string>& value) {
  w.Key(key);
  str_or_null(w, value);
}
void kv(Writer& w, const char* key, bool value) { w.Key(key); w.Bool(value); }
void kv(Writer& w, const char* key, int64_t value) { w.Key(key); w.Int64(value); }

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
