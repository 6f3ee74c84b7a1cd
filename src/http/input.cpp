#include "http/input.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

namespace amo::http {

using core::Error;
using core::Fault;

JsonBody::JsonBody(const std::string& body) {
  if (body.empty()) {
    doc_.SetObject();
    return;
  }
  std::string duplicate;
  auto fail = json::parse(body, doc_, json::kRequestLimits, &duplicate);
  if (fail == json::ParseFail::kDuplicateKey)  // the name, cut and made printable
    throw Error(Fault::kInvalidJson,
                "Request body has a duplicate key \"" + core::clean_text(duplicate, 64) + "\"");
  if (fail != json::ParseFail::kNone)
    throw Error(Fault::kInvalidJson, std::string("Request body is ") + json::describe(fail));
  if (!doc_.IsObject()) throw Error(Fault::kInvalidJson, "Request body must be a JSON object");
}

std::optional<std::string> JsonBody::text(const char* name, size_t max_chars) const {
  std::optional<std::string> v;
  try {
    v = json::get_string(doc_, name);
  } catch (const json::ShapeError& e) {
    throw Error(Fault::kInvalidParameter, std::string("Field ") + e.what());
  }
  if (v && core::code_points(*v).value_or(max_chars + 1) > max_chars)
    throw Error(Fault::kInvalidParameter, std::string("Field '") + name + "' is longer than " +
                                              std::to_string(max_chars) + " characters");
  return v;
}

std::string JsonBody::required_text(const char* name, size_t max_chars) const {
  auto v = text(name, max_chars);
  if (!v || v->empty())
    throw Error(Fault::kMissingParameter, std::string("Field '") + name + "' is required");
  return *v;
}

void bad_param(const std::string& name, const std::string& why) {
  throw Error(Fault::kInvalidParameter, "Parameter '" + name + "' " + why);
}

std::optional<int64_t> int_param(const Request& req, const char* name, int64_t lo, int64_t hi) {
  auto v = req.param(name);
  if (!v) return std::nullopt;
  if (v->empty() || v->size() > 18 || v->find_first_not_of("0123456789") != std::string::npos)
    bad_param(name, "must be a whole number");
  int64_t n = std::stoll(*v);
  if (n < lo || n > hi)
    bad_param(name, "must be from " + std::to_string(lo) + " to " + std::to_string(hi));
  return n;
}

std::optional<std::string> text_param(const Request& req, const char* name, size_t max_chars) {
  auto v = req.param(name);
  if (!v) return std::nullopt;
  auto n = core::code_points(*v);
  if (!n) bad_param(name, "must be valid UTF-8 text");
  if (*n > max_chars)
    bad_param(name, "must be at most " + std::to_string(max_chars) + " characters");
  return v;
}

}  // namespace amo::http
