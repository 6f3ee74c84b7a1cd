#pragma once
// Reading what a client sent: JSON bodies and query parameters, with bounds. Everything
// wrong here is the client's fault (core::Error with a 4xx fault naming the field).
#include <cstdint>
#include <optional>
#include <string>

#include "http/request.hpp"
#include "util/json.hpp"

namespace amo::http {

// A request's JSON body (at most 64 KiB, 32 levels, valid UTF-8, no duplicate member names).
class JsonBody {
 public:
  // An empty body reads as {}; anything but a JSON object is kInvalidJson.
  explicit JsonBody(const std::string& body);
  // Optional string field: absent → nullopt; any other type (null too) or more than
  // `max_chars` code points → kInvalidParameter.
  std::optional<std::string> text(const char* name, size_t max_chars) const;
  // Required string field: absent or empty → kMissingParameter.
  std::string required_text(const char* name, size_t max_chars) const;

 private:
  rapidjson::Document doc_;
};

// Query parameter helpers. A present parameter that is not valid → kInvalidParameter
// naming it ("Parameter 'page' must be a whole number").
[[noreturn]] void bad_param(const std::string& name, const std::string& why);
std::optional<int64_t> int_param(const Request& req, const char* name, int64_t lo, int64_t hi);
// Text of at most `max_chars` code points, valid UTF-8.
std::optional<std::string> text_param(const Request& req, const char* name, size_t max_chars);

}  // namespace amo::http
