#include "amo/parse.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace amo::amo_api {

namespace {
[[noreturn]] void garbage(const std::string& why) { throw AmoError(Failure::kGarbage, 200, why); }
}  // namespace

rapidjson::Document parse_body(std::string_view body, const char* what) {
  rapidjson::Document d;
  auto fail = json::parse(body, d, json::kUpstreamLimits);
  if (fail != json::ParseFail::kNone)
    garbage(std::string("amoCRM ") + what + " answer is " + json::describe(fail));
  if (!d.IsObject()) garbage(std::string("amoCRM ") + what + " answer is not an object");
  return d;
}

TokenSet parse_token(std::string_view body) {
  auto d = parse_body(body, "token");
  try {
    auto access = json::get_string(d, "access_token");
    auto refresh = json::get_string(d, "refresh_token");
    auto expires = json::get_int(d, "expires_in");
    if (!access || !refresh || access->empty() || refresh->empty() || !expires || *expires <= 0)
      garbage("amoCRM token answer lacks tokens");
    // Tokens travel in headers and JSON bodies: refuse anything that could not.
    for (const std::string* t : {&*access, &*refresh})
      if (t->size() > 8192 || t->find_first_of("\r\n\"\\ ") != std::string::npos ||
          std::any_of(t->begin(), t->end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x21; }))
        garbage("amoCRM token answer holds an unusable token");
    TokenSet t;
    t.access_token = *access;
    t.refresh_token = *refresh;
    // amoCRM says 86400; keep whatever it says within sane bounds.
    t.expires_in = std::clamp<int64_t>(*expires, 60, 90 * 86400);
    return t;
  } catch (const json::ShapeError& e) {
    garbage(std::string("amoCRM token answer: ") + e.what());
  }
}

Account parse_account(std::string_view body) {
  auto d = parse_body(body, "account");
  try {
    auto id = json::get_int(d, "id");
    if (!id || *id <= 0 || *id > INT64_C(999999999999999))
      garbage("amoCRM account answer has no id");
    Account a;
    a.id = *id;
    a.name = core::clean_text(json::get_string_or_null(d, "name").value_or(""), 255);
    a.subdomain = core::clean_text(json::get_string_or_null(d, "subdomain").value_or(""), 255);
    return a;
  } catch (const json::ShapeError& e) {
    garbage(std::string("amoCRM account answer: ") + e.what());
  }
}

std::string problem_text(std::string_view body) {
  rapidjson::Document d;
  if (json::parse(body, d, json::kUpstreamLimits) != json::ParseFail::kNone || !d.IsObject())
    return {};
  for (const char* k : {"hint", "title", "detail"}) {
    auto it = d.FindMember(k);
    if (it != d.MemberEnd() && it->value.IsString())
      return core::clean_text(std::string_view(it->value.GetString(), it->value.GetStringLength()),
                              200);
  }
  return {};
}

std::optional<Failure> api_failure(long status) {
  if (status == 200 || status == 204) return std::nullopt;
  if (status == 429) return Failure::kRateLimited;
  if (status >= 500 && status <= 599) return Failure::kServer;
  if (status >= 400 && status <= 499) return Failure::kRejected;
  return Failure::kGarbage;  // 1xx, other 2xx, redirects, nonsense
}

}  // namespace amo::amo_api
