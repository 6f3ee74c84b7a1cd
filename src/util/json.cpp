#include "util/json.hpp"

#include <algorithm>
#include <vector>

#include "core/text.hpp"

namespace amo::json {

std::string write(const std::function<void(Writer&)>& fill) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  fill(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void str(Writer& w, std::string_view s) {
  // Text from amoCRM or a request may be invalid UTF-8: never write invalid JSON.
  if (core::valid_utf8(s)) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return;
  }
  std::string clean = core::repair_utf8(s);
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
void kv(Writer& w, const char* key, const std::optional<int64_t>& value) {
  w.Key(key);
  if (value)
    w.Int64(*value);
  else
    w.Null();
}

const char* describe(ParseFail f) {
  switch (f) {
    case ParseFail::kNone:
      return "valid";
    case ParseFail::kTooLarge:
      return "too large";
    case ParseFail::kTooDeep:
      return "nested too deeply";
    case ParseFail::kSyntax:
      return "not valid JSON";
    case ParseFail::kEncoding:
      return "not valid UTF-8";
    case ParseFail::kDuplicateKey:
      return "an object with a duplicate key";
  }
  return "not valid JSON";
}

int nesting_depth(std::string_view text, int stop_at) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > stop_at) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

namespace {
// RapidJSON validates the bytes of the text and refuses a lone high surrogate escape, but
// decodes a lone low one ("\udc00") into bytes that are not UTF-8: check what the escapes
// spelled, in every string and member name (explicit stack: the depth is bounded anyway).
bool escapes_valid(const rapidjson::Value& root) {
  auto ok = [](const rapidjson::Value& s) {
    return core::valid_utf8(std::string_view(s.GetString(), s.GetStringLength()));
  };
  std::vector<const rapidjson::Value*> todo{&root};
  while (!todo.empty()) {
    const rapidjson::Value* v = todo.back();
    todo.pop_back();
    if (v->IsString() && !ok(*v)) return false;
    if (v->IsArray())
      for (const auto& e : v->GetArray()) todo.push_back(&e);
    if (v->IsObject())
      for (const auto& m : v->GetObject()) {
        if (!ok(m.name)) return false;
        todo.push_back(&m.value);
      }
  }
  return true;
}

// The first member name that occurs twice in one object, anywhere in `root` (names compared
// as decoded bytes, so "a" and "\u0061" are one name). Sorting keeps an object of thousands
// of members at n log n.
std::optional<std::string_view> duplicate_key(const rapidjson::Value& root) {
  std::vector<const rapidjson::Value*> todo{&root};
  std::vector<std::string_view> names;
  while (!todo.empty()) {
    const rapidjson::Value* v = todo.back();
    todo.pop_back();
    if (v->IsArray())
      for (const auto& e : v->GetArray()) todo.push_back(&e);
    if (!v->IsObject()) continue;
    names.clear();
    for (const auto& m : v->GetObject()) {
      names.emplace_back(m.name.GetString(), m.name.GetStringLength());
      todo.push_back(&m.value);
    }
    std::sort(names.begin(), names.end());
    auto dup = std::adjacent_find(names.begin(), names.end());
    if (dup != names.end()) return *dup;
  }
  return std::nullopt;
}
}  // namespace

ParseFail parse(std::string_view text, rapidjson::Document& out, Limits limits,
                std::string* duplicate) {
  if (text.size() > limits.max_bytes) return ParseFail::kTooLarge;
  if (nesting_depth(text, limits.max_depth) > limits.max_depth) return ParseFail::kTooDeep;
  // A NUL byte is never valid JSON text (in a string it must be escaped), but RapidJSON
  // takes one after the value for the end of the text: `{"a":1}\0{"a":2}` would read as
  // its first half.
  if (text.find('\0') != std::string_view::npos) return ParseFail::kSyntax;
  constexpr unsigned kFlags =
      rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  out.Parse<kFlags>(text.data(), text.size());
  if (!out.HasParseError()) {
    if (text.find("\\u") != std::string_view::npos && !escapes_valid(out)) {
      out.SetNull();
      return ParseFail::kEncoding;
    }
    if (auto name = duplicate_key(out)) {
      if (duplicate) duplicate->assign(name->data(), name->size());
      out.SetNull();
      return ParseFail::kDuplicateKey;
    }
    return ParseFail::kNone;
  }
  auto code = out.GetParseError();
  bool encoding = code == rapidjson::kParseErrorStringInvalidEncoding ||
                  code == rapidjson::kParseErrorStringUnicodeSurrogateInvalid;
  out.SetNull();
  return encoding ? ParseFail::kEncoding : ParseFail::kSyntax;
}

ShapeError::ShapeError(std::string field, const char* expected)
    : std::runtime_error("'" + field + "' must be " + expected), field_(std::move(field)) {}

namespace {
const rapidjson::Value* find(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::optional<std::string> as_string(const rapidjson::Value* v, const char* name, bool null_ok) {
  if (!v || (null_ok && v->IsNull())) return std::nullopt;
  if (!v->IsString()) throw ShapeError(name, "a string");
  std::string s(v->GetString(), v->GetStringLength());
  // Escapes (\ud800) can still spell invalid text: treat it as the wrong shape.
  if (!core::valid_utf8(s)) throw ShapeError(name, "valid UTF-8 text");
  return s;
}

std::optional<int64_t> as_int(const rapidjson::Value* v, const char* name, bool null_ok) {
  if (!v || (null_ok && v->IsNull())) return std::nullopt;
  if (!v->IsInt64()) throw ShapeError(name, "a whole number");
  return v->GetInt64();
}
}  // namespace

std::optional<std::string> get_string(const rapidjson::Value& obj, const char* name) {
  return as_string(find(obj, name), name, false);
}
std::optional<int64_t> get_int(const rapidjson::Value& obj, const char* name) {
  return as_int(find(obj, name), name, false);
}
std::optional<bool> get_bool(const rapidjson::Value& obj, const char* name) {
  const rapidjson::Value* v = find(obj, name);
  if (!v) return std::nullopt;
  if (!v->IsBool()) throw ShapeError(name, "true or false");
  return v->GetBool();
}
std::optional<std::string> get_string_or_null(const rapidjson::Value& obj, const char* name) {
  return as_string(find(obj, name), name, true);
}
std::optional<int64_t> get_int_or_null(const rapidjson::Value& obj, const char* name) {
  return as_int(find(obj, name), name, true);
}
const rapidjson::Value* get_object(const rapidjson::Value& obj, const char* name) {
  const rapidjson::Value* v = find(obj, name);
  if (v && !v->IsObject()) throw ShapeError(name, "an object");
  return v;
}
const rapidjson::Value* get_array(const rapidjson::Value& obj, const char* name) {
  const rapidjson::Value* v = find(obj, name);
  if (v && !v->IsArray()) throw ShapeError(name, "an array");
  return v;
}

}  // namespace amo::json
