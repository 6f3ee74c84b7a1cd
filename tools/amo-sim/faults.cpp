#include "faults.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <set>
#include <vector>

#include "util/json.hpp"

namespace amosim::faults {

namespace {

using Value = rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

constexpr int kDeepLevels = 200000;
constexpr size_t kHugeBytes = 50u * 1024 * 1024;

// The same value with another JSON type; containers are retyped all the way down when
// `deep`.
void retype(Value& v, Alloc& a, bool deep) {
  if (v.IsString()) {
    v.SetInt64(12345);
  } else if (v.IsNumber()) {
    std::string text = v.IsInt64()    ? std::to_string(v.GetInt64())
                       : v.IsUint64() ? std::to_string(v.GetUint64())
                                      : std::to_string(v.GetDouble());
    v.SetString(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), a);
  } else if (v.IsBool()) {
    const char* text = v.GetBool() ? "true" : "false";
    v.SetString(text, a);
  } else if (v.IsNull()) {
    v.SetObject();
  } else if (v.IsObject()) {
    Value arr(rapidjson::kArrayType);
    for (auto& m : v.GetObject()) {
      if (deep) retype(m.value, a, true);
      arr.PushBack(Value(m.value, a), a);
    }
    v = arr;
  } else if (v.IsArray()) {
    Value obj(rapidjson::kObjectType);
    int i = 0;
    for (auto& e : v.GetArray()) {
      if (deep) retype(e, a, true);
      std::string key = std::to_string(i++);
      obj.AddMember(Value(key.c_str(), static_cast<rapidjson::SizeType>(key.size()), a),
                    Value(e, a), a);
    }
    v = obj;
  }
}

// Calls `fn(member value)` for every member named `name`, at any depth.
template <typename F>
void each_member(Value& v, const std::string& name, F&& fn) {
  if (v.IsObject()) {
    for (auto& m : v.GetObject()) {
      if (name == std::string(m.name.GetString(), m.name.GetStringLength()))
        fn(m.value);
      else
        each_member(m.value, name, fn);
    }
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) each_member(e, name, fn);
  }
}

void remove_members(Value& v, const std::set<std::string>& names) {
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd();) {
      if (names.count(std::string(it->name.GetString(), it->name.GetStringLength()))) {
        it = v.EraseMember(it);
      } else {
        remove_members(it->value, names);
        ++it;
      }
    }
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) remove_members(e, names);
  }
}

const char kBadUtf8[] = "\xC3\x28\xC0\xAF";

void spoil_strings(Value& v, Alloc& a, bool force) {
  if (v.IsString() || force) {
    std::string s = v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : std::string();
    s += kBadUtf8;
    v.SetString(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
  } else if (v.IsObject()) {
    for (auto& m : v.GetObject()) spoil_strings(m.value, a, false);
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) spoil_strings(e, a, false);
  }
}

std::set<std::string> required_of(const std::string& endpoint) {
  if (endpoint == "token_code" || endpoint == "token_refresh")
    return {"access_token", "refresh_token", "expires_in"};
  if (endpoint == "account") return {"id"};
  if (endpoint == "leads" || endpoint == "pipelines") return {"_embedded"};
  if (endpoint == "exchange") return {"status"};
  return {};
}

// Writes without repairing anything: invalid UTF-8 stays invalid.
std::string raw_text(const rapidjson::Document& d) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  d.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string cut(const std::string& real) {
  // Inside a string value past the middle: after `":"` and a few characters of the value,
  // on a UTF-8 boundary (the prefix is broken JSON, not broken UTF-8).
  size_t at = real.find(":\"", real.size() / 2);
  size_t n = at == std::string::npos ? real.size() / 2 : std::min(real.size() - 1, at + 5);
  while (n > 1 && (static_cast<unsigned char>(real[n]) & 0xC0) == 0x80) --n;
  return real.substr(0, n);
}

}  // namespace

bool known_body(const std::string& b) {
  static const std::set<std::string> kinds = {
      "json",         "html", "truncated", "wrong_types", "missing_fields",
      "invalid_utf8", "deep", "huge",      "redirect",    "close"};
  return kinds.count(b) > 0;
}

bool needs_real_answer(const std::string& b) {
  return b == "wrong_types" || b == "missing_fields" || b == "invalid_utf8" || b == "truncated" ||
         b == "close";
}

std::string shape(const std::string& body, const std::string& real, const std::string& endpoint,
                  const std::string& field) {
  if (body == "truncated") return cut(real);
  if (body == "close") return real;
  rapidjson::Document d;
  if (amo::json::parse(real, d, amo::json::kUpstreamLimits) != amo::json::ParseFail::kNone)
    d.SetObject();
  auto& a = d.GetAllocator();
  if (body == "wrong_types") {
    if (field.empty()) {
      if (d.IsObject())
        for (auto& m : d.GetObject()) retype(m.value, a, true);
    } else {
      each_member(d, field, [&](Value& v) { retype(v, a, false); });
    }
  } else if (body == "missing_fields") {
    remove_members(d, field.empty() ? required_of(endpoint) : std::set<std::string>{field});
  } else if (body == "invalid_utf8") {
    if (field.empty())
      spoil_strings(d, a, false);
    else
      each_member(d, field, [&](Value& v) { spoil_strings(v, a, true); });
  }
  return raw_text(d);
}

const std::string& deep_body() {
  static const std::string body = std::string(kDeepLevels, '[') + std::string(kDeepLevels, ']');
  return body;
}

const std::string& huge_body() {
  static const std::string body = [] {
    std::string b = "{\"padding\":\"";
    b.append(kHugeBytes - b.size() - 2, 'x');
    b += "\"}";
    return b;
  }();
  return body;
}

}  // namespace amosim::faults
