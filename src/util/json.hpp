#pragma once
// JSON is written only through RapidJSON's Writer and read only through bounded parses.
// Reading knows nothing of who sent the text: it reports what is wrong (ParseFail,
// ShapeError) and the caller decides whose fault that is (a client's 400, amoCRM's 502).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace amo::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Runs `fill` on a fresh Writer and returns the text it wrote.
std::string write(const std::function<void(Writer&)>& fill);

// Helpers for the common shapes. Strings are written as valid UTF-8 (invalid bytes → U+FFFD).
void str(Writer& w, std::string_view s);
void str_or_null(Writer& w, const std::optional<std::string>& s);
void kv(Writer& w, const char* key, std::string_view value);
void kv(Writer& w, const char* key, const std::string& value);
void kv(Writer& w, const char* key, const char* value);
void kv(Writer& w, const char* key, const std::optional<std::string>& value);
void kv(Writer& w, const char* key, bool value);
void kv(Writer& w, const char* key, int64_t value);
void kv(Writer& w, const char* key, int value);
void kv(Writer& w, const char* key, const std::optional<int64_t>& value);

// Bounds of one parse. Nesting deeper than max_depth is refused before RapidJSON sees the
// text (and RapidJSON parses iteratively), so no input can exhaust the stack.
struct Limits {
  size_t max_bytes;
  int max_depth;
};
inline constexpr Limits kRequestLimits{64 * 1024, 32};
inline constexpr Limits kUpstreamLimits{8 * 1024 * 1024, 64};

enum class ParseFail { kNone, kTooLarge, kTooDeep, kSyntax, kEncoding, kDuplicateKey };
const char* describe(ParseFail f);

// Parses `text` (one complete JSON value, strings valid UTF-8, no object with two members
// of one name at any depth) into `out`. A duplicate name is refused because readers differ
// on which copy counts (RapidJSON's FindMember takes the first, most others the last): the
// value we check and the value another component acts on could differ. On kDuplicateKey,
// `duplicate` (when given) receives that name as decoded.
ParseFail parse(std::string_view text, rapidjson::Document& out, Limits limits,
                std::string* duplicate = nullptr);
// The deepest nesting of arrays/objects in `text`, counting stops past `stop_at`.
int nesting_depth(std::string_view text, int stop_at);

// A member of the wrong type: the caller decides whose fault it is.
class ShapeError : public std::runtime_error {
 public:
  ShapeError(std::string field, const char* expected);
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// Optional members of an object: absent → nullopt; present with another type (null
// included) → ShapeError naming the field.
std::optional<std::string> get_string(const rapidjson::Value& obj, const char* name);
std::optional<int64_t> get_int(const rapidjson::Value& obj, const char* name);
std::optional<bool> get_bool(const rapidjson::Value& obj, const char* name);
// Like get_*, but null reads as absent (amoCRM sends null for "no value").
std::optional<std::string> get_string_or_null(const rapidjson::Value& obj, const char* name);
std::optional<int64_t> get_int_or_null(const rapidjson::Value& obj, const char* name);
// A member that must be an object / array when present (ShapeError otherwise).
const rapidjson::Value* get_object(const rapidjson::Value& obj, const char* name);
const rapidjson::Value* get_array(const rapidjson::Value& obj, const char* name);

}  // namespace amo::json
