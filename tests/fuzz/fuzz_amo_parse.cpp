// amoCRM's token, account and error answers: amo_api::parse_token, parse_account,
// problem_text and api_failure, all on the same body (an optional "#status NNN" first line
// sets the status for api_failure). Each either fails as garbage or returns values the rest
// of the service can store, send and log as they are.
#include <rapidjson/document.h>

#include "amo/parse.hpp"
#include "amo_check.hpp"
#include "core/text.hpp"

using namespace amo;

namespace {

void check_token(const std::string& t, const rapidjson::Document& d, const char* name) {
  FUZZ_CHECK(!t.empty() && t.size() <= 8192, "%s of %zu bytes", name, t.size());
  for (char c : t) {
    auto b = static_cast<unsigned char>(c);
    FUZZ_CHECK(b >= 0x21 && c != '"' && c != '\\', "%s holds byte 0x%02x", name, b);
  }
  FUZZ_CHECK(d.HasMember(name) && d[name].IsString() &&
                 std::string_view(d[name].GetString(), d[name].GetStringLength()) == t,
             "%s is not the answer's", name);
}

void check_clean(const std::string& s, size_t max_cps, const char* what) {
  auto n = core::code_points(s);
  FUZZ_CHECK(n && *n <= max_cps, "%s is invalid UTF-8 or longer than %zu", what, max_cps);
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    FUZZ_CHECK(b >= 0x20 || c == '\t' || c == '\n', "%s holds control byte 0x%02x", what, b);
    FUZZ_CHECK(b != 0x7F, "%s holds DEL", what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body;
  const long status = fuzz::answer_status(fuzz::as_text(data, size), &body);

  amo_api::TokenSet t;
  if (fuzz::amo_parses([&] { t = amo_api::parse_token(body); })) {
    rapidjson::Document d;
    fuzz::require_json(body, d, "a token answer");
    check_token(t.access_token, d, "access_token");
    check_token(t.refresh_token, d, "refresh_token");
    FUZZ_CHECK(t.expires_in >= 60 && t.expires_in <= 90 * 86400, "expires_in %lld",
               static_cast<long long>(t.expires_in));
  }

  amo_api::Account a;
  if (fuzz::amo_parses([&] { a = amo_api::parse_account(body); })) {
    FUZZ_CHECK(a.id > 0 && a.id <= INT64_C(999999999999999), "account id %lld",
               static_cast<long long>(a.id));
    check_clean(a.name, 255, "the account name");
    check_clean(a.subdomain, 255, "the subdomain");
  }

  // Never throws; safe to log: valid UTF-8, no control characters, at most 200 bytes.
  const std::string hint = amo_api::problem_text(body);
  check_clean(hint, 200, "problem_text");
  FUZZ_CHECK(hint.size() <= 200, "problem_text of %zu bytes", hint.size());

  auto failure = amo_api::api_failure(status);
  FUZZ_CHECK(failure.has_value() == (status != 200 && status != 204), "api_failure(%ld)", status);
  return 0;
}
