#pragma once
// JSON is written only through RapidJSON's Writer and read only through its Document.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace amo::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Runs `fill` on a fresh Writer and returns the text it wrote.
std::string write(const std::function<void(Writer&)>& fill);

// Helpers for the common shapes.
void str(Writer& w, std::string_view s);
void str_or_null(Writer& w, const std::optional<std::string>& s);
void kv(Writer& w, const char* key, std::string_view value);
void kv(Writer& w, const char* key, const std::string& value);
void kv(Writer& w, const char* key, const char* value);
void kv(Writer& w, const char* key, const std::optional<std::string>& value);
void kv(Writer& w, const char* key, bool value);
void kv(Writer& w, const char* key, int64_t value);
void kv(Writer& w, const char* key, int value);

// Parses a request body that must be a JSON object; throws http::ApiError(kInvalidJson).
rapidjson::Document parse_object(const std::string& body);
// Parses any text; nullopt-like: returns false when it is not valid JSON.
bool try_parse(const std::string& text, rapidjson::Document& out);

// Optional string member of an object. Throws kInvalidParameter naming the field when the
// member is present and not a string.
std::optional<std::string> get_string(const rapidjson::Value& obj, const char* name);
std::optional<int64_t> get_int(const rapidjson::Value& obj, const char* name);

}  // namespace amo::json
