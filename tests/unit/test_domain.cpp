// Pure domain rules, one table each: what an amoCRM answer means (api_failure, fault_of,
// the default Retry-After), the pacing interval, UTF-8 validity and repair, host names, and
// the process metrics' exact text.
#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <vector>

#include "amo/client.hpp"
#include "amo/gateway.hpp"
#include "amo/parse.hpp"
#include "app/metrics.hpp"
#include "core/error.hpp"
#include "core/host.hpp"
#include "core/text.hpp"

using amo::amo_api::AmoError;
using amo::amo_api::Failure;
using amo::core::Fault;

namespace {
bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}
std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(amo_rules)

BOOST_AUTO_TEST_CASE(api_failure_by_status) {
  using amo::amo_api::api_failure;
  // Success: 200, and 204 (amoCRM's empty list).
  BOOST_TEST(!api_failure(200).has_value());
  BOOST_TEST(!api_failure(204).has_value());
  const std::vector<std::pair<long, Failure>> want = {
      {429, Failure::kRateLimited},
      {500, Failure::kServer},
      {502, Failure::kServer},
      {503, Failure::kServer},
      {599, Failure::kServer},
      {400, Failure::kRejected},
      {401, Failure::kRejected},
      {403, Failure::kRejected},
      {404, Failure::kRejected},
      {499, Failure::kRejected},
      // Anything else is not an answer amoCRM gives: unreadable.
      {0, Failure::kGarbage},
      {100, Failure::kGarbage},
      {201, Failure::kGarbage},
      {202, Failure::kGarbage},
      {301, Failure::kGarbage},
      {302, Failure::kGarbage},
      {304, Failure::kGarbage},
      {399, Failure::kGarbage},
      {600, Failure::kGarbage},
  };
  for (auto [status, failure] : want) {
    BOOST_TEST_CONTEXT("status " << status) {
      auto got = api_failure(status);
      BOOST_REQUIRE(got.has_value());
      BOOST_TEST(static_cast<int>(*got) == static_cast<int>(failure));
    }
  }
}

BOOST_AUTO_TEST_CASE(fault_of_each_failure) {
  using amo::amo_api::fault_of;
  BOOST_TEST((fault_of(Failure::kTimeout, 0) == Fault::kAmoTimeout));
  BOOST_TEST((fault_of(Failure::kNetwork, 0) == Fault::kAmoUnavailable));
  BOOST_TEST((fault_of(Failure::kServer, 500) == Fault::kAmoUnavailable));
  BOOST_TEST((fault_of(Failure::kServer, 503) == Fault::kAmoUnavailable));
  BOOST_TEST((fault_of(Failure::kRateLimited, 429) == Fault::kAmoRateLimited));
  BOOST_TEST((fault_of(Failure::kGarbage, 200) == Fault::kAmoBadResponse));
  BOOST_TEST((fault_of(Failure::kGarbage, 302) == Fault::kAmoBadResponse));
  // amoCRM's 403 is "forbidden" for the app; any other refusal is amoCRM's error.
  BOOST_TEST((fault_of(Failure::kRejected, 403) == Fault::kAmoForbidden));
  for (long status : {400L, 401L, 404L, 422L})
    BOOST_TEST((fault_of(Failure::kRejected, status) == Fault::kAmoRejected), status);
}

BOOST_AUTO_TEST_CASE(amo_error_retry_after_and_grant_rejection) {
  // Unavailable: retry in 5 s unless amoCRM said otherwise; rate limited: 1 s.
  BOOST_TEST(AmoError(Failure::kServer, 500, "x").retry_after().value_or(-1) == 5);
  BOOST_TEST(AmoError(Failure::kNetwork, 0, "x").retry_after().value_or(-1) == 5);
  BOOST_TEST(AmoError(Failure::kServer, 503, "x", {}, 30).retry_after().value_or(-1) == 30);
  BOOST_TEST(AmoError(Failure::kRateLimited, 429, "x").retry_after().value_or(-1) == 1);
  BOOST_TEST(AmoError(Failure::kRateLimited, 429, "x", {}, 7).retry_after().value_or(-1) == 7);
  BOOST_TEST(!AmoError(Failure::kTimeout, 0, "x").retry_after().has_value());
  BOOST_TEST(!AmoError(Failure::kGarbage, 200, "x").retry_after().has_value());
  BOOST_TEST(!AmoError(Failure::kRejected, 400, "x").retry_after().has_value());
  BOOST_TEST((AmoError(Failure::kRejected, 403, "x").fault() == Fault::kAmoForbidden));
  // Only a 400/401 refusal means the grant (code or refresh token) is dead.
  BOOST_TEST(AmoError(Failure::kRejected, 400, "x").grant_rejected());
  BOOST_TEST(AmoError(Failure::kRejected, 401, "x").grant_rejected());
  BOOST_TEST(!AmoError(Failure::kRejected, 403, "x").grant_rejected());
  BOOST_TEST(!AmoError(Failure::kServer, 500, "x").grant_rejected());
  BOOST_TEST(!AmoError(Failure::kGarbage, 401, "x").grant_rejected());
}

BOOST_AUTO_TEST_CASE(pacing_interval_is_documented_formula) {
  // docs/CONFIGURATION.md: one slot every 1.2 × 1000/rps + 10 ms (rounded up).
  using amo::amo_api::pacing_step_ms;
  BOOST_TEST(pacing_step_ms(7) == 182);  // the default: 1200/7 = 171.4 → 172, + 10
  BOOST_TEST(pacing_step_ms(1) == 1210);
  BOOST_TEST(pacing_step_ms(10) == 130);
  BOOST_TEST(pacing_step_ms(6) == 210);
  BOOST_TEST(pacing_step_ms(1000) == 12);
  BOOST_TEST(pacing_step_ms(0) == 1210);  // never a division by zero
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(core_text)

BOOST_AUTO_TEST_CASE(utf8_shortest_forms_only) {
  using amo::core::valid_utf8;
  for (const std::string& ok :
       {std::string(), std::string("plain ascii"), std::string("\x7F"),
        bytes({0xC2, 0x80}),              // U+0080, the first 2-byte
        bytes({0xDF, 0xBF}),              // U+07FF
        bytes({0xE0, 0xA0, 0x80}),        // U+0800, the first 3-byte
        bytes({0xED, 0x9F, 0xBF}),        // U+D7FF, just below the surrogates
        bytes({0xEE, 0x80, 0x80}),        // U+E000, just above them
        bytes({0xEF, 0xBF, 0xBF}),        // U+FFFF
        bytes({0xF0, 0x90, 0x80, 0x80}),  // U+10000, the first 4-byte
        bytes({0xF4, 0x8F, 0xBF, 0xBF}),  // U+10FFFF, the last code point
        std::string("Квартира на Подолі"), std::string("\xF0\x9F\x8F\xA0 home")})
    BOOST_TEST(valid_utf8(ok), "valid: " << ok.size() << " bytes");
  for (const std::string& bad : {
           bytes({0x80}),                    // a lone continuation byte
           bytes({0xBF}),                    //
           bytes({0xC0, 0x80}),              // overlong NUL
           bytes({0xC1, 0xBF}),              // overlong U+007F
           bytes({0xC2}),                    // truncated
           bytes({0xC2, 0x41}),              // not a continuation
           bytes({0xE0, 0x80, 0x80}),        // overlong 3-byte
           bytes({0xE0, 0x9F, 0xBF}),        // overlong U+07FF
           bytes({0xED, 0xA0, 0x80}),        // U+D800, a surrogate
           bytes({0xED, 0xBF, 0xBF}),        // U+DFFF
           bytes({0xE2, 0x82}),              // truncated
           bytes({0xF0, 0x80, 0x80, 0x80}),  // overlong 4-byte
           bytes({0xF0, 0x8F, 0xBF, 0xBF}),  // overlong U+FFFF
           bytes({0xF4, 0x90, 0x80, 0x80}),  // U+110000, beyond Unicode
           bytes({0xF5, 0x80, 0x80, 0x80}),  //
           bytes({0xF8, 0x88, 0x80, 0x80, 0x80}),
           bytes({0xFE}),
           bytes({0xFF}),
           bytes({0xF0, 0x9F, 0x8F}),  // truncated 4-byte
       })
    BOOST_TEST(!valid_utf8(bad), "invalid: " << amo::core::repair_utf8(bad).size());
  // A valid text with a bad byte in its middle is invalid as a whole.
  BOOST_TEST(!valid_utf8("ok " + bytes({0xED, 0xA0, 0x80}) + " ok"));
}

BOOST_AUTO_TEST_CASE(code_points_and_sequences) {
  using amo::core::code_points;
  BOOST_TEST(code_points("").value_or(99) == 0u);
  BOOST_TEST(code_points("abc").value_or(99) == 3u);
  BOOST_TEST(code_points("Подол").value_or(99) == 5u);  // 10 bytes
  BOOST_TEST(code_points(bytes({0xF4, 0x8F, 0xBF, 0xBF, 0x41})).value_or(99) == 2u);
  BOOST_TEST(!code_points(bytes({0x41, 0xC0, 0x80})).has_value());
  BOOST_TEST(amo::core::utf8_sequence(bytes({0xE0, 0xA0, 0x80}), 0) == 3u);
  BOOST_TEST(amo::core::utf8_sequence(bytes({0x41, 0xF0, 0x90, 0x80, 0x80}), 1) == 4u);
  BOOST_TEST(amo::core::utf8_sequence(bytes({0xF0, 0x90, 0x80}), 0) == 0u);
}

BOOST_AUTO_TEST_CASE(repair_and_clean) {
  using amo::core::clean_text;
  using amo::core::repair_utf8;
  const std::string fffd = "\xEF\xBF\xBD";
  BOOST_TEST(repair_utf8("Подол") == "Подол");
  // Each invalid byte becomes one U+FFFD.
  BOOST_TEST(repair_utf8("a" + bytes({0xC0, 0x80}) + "b") == "a" + fffd + fffd + "b");
  BOOST_TEST(repair_utf8(bytes({0xED, 0xA0, 0x80})) == fffd + fffd + fffd);
  BOOST_TEST(repair_utf8(bytes({0xE2, 0x82}) + "x") == fffd + fffd + "x");
  // clean_text: control characters (NUL too) dropped except tab and newline; cut by code
  // points, never inside one.
  static const char kMixed[] = "a\0b\x01\x1F\x7F\tc\nd\re";
  BOOST_TEST(clean_text(std::string(kMixed, sizeof kMixed - 1), 100) == "ab\tc\nde");
  BOOST_TEST(clean_text("Квартира", 3) == "Ква");
  BOOST_TEST(clean_text("abc", 0) == "");
  BOOST_TEST(clean_text("x" + bytes({0xFF}) + "y", 2) == "x" + fffd);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(core_host)

BOOST_AUTO_TEST_CASE(normalize_host_rules) {
  using amo::core::normalize_host;
  for (auto [raw, want] : std::vector<std::pair<std::string, std::string>>{
           {"reforyou.amocrm.ru", "reforyou.amocrm.ru"},
           {"ReForYou.AmoCRM.RU", "reforyou.amocrm.ru"},
           {"ZZ.AA", "zz.aa"},
           {"a-b.c-d.kommo.com", "a-b.c-d.kommo.com"},
           {"localhost", "localhost"},
           {"1.2.3", "1.2.3"},  // not an IPv4 address in dotted-quad form
           {std::string(253, 'a'), std::string(253, 'a')}})
    BOOST_TEST_CONTEXT(raw) { BOOST_TEST(normalize_host(raw).value_or("-") == want); }
  for (const std::string& bad :
       {std::string(), std::string(254, 'a'), std::string("127.0.0.1"), std::string("10.0.0.1"),
        std::string("255.255.255.255"), std::string(".amocrm.ru"), std::string("amocrm.ru."),
        std::string("a..b"), std::string("."), std::string("a b"), std::string("a_b.ru"),
        std::string("user@host.ru"), std::string("host.ru:443"), std::string("host.ru/"),
        std::string("[::1]"), std::string("h\xC3\xBCst.ru"), std::string("host.ru\n")})
    BOOST_TEST_CONTEXT("'" << bad << "'") { BOOST_TEST(!normalize_host(bad).has_value()); }
}

BOOST_AUTO_TEST_CASE(allowed_host_label_boundary) {
  using amo::core::allowed_host;
  const std::vector<std::string> allowed = {"amocrm.ru", "kommo.com"};
  BOOST_TEST(allowed_host("amocrm.ru", allowed).value_or("-") == "amocrm.ru");
  BOOST_TEST(allowed_host("A.AmoCRM.Ru", allowed).value_or("-") == "a.amocrm.ru");
  BOOST_TEST(allowed_host("x.y.kommo.com", allowed).value_or("-") == "x.y.kommo.com");
  for (const char* bad : {"evilamocrm.ru", "xamocrm.ru", "amocrm.ru.evil.com", "mocrm.ru", "ru",
                          "amocrm.rux", "kommo.co", "a.kommo.com.ru"})
    BOOST_TEST(!allowed_host(bad, allowed).has_value(), bad);
  BOOST_TEST(!allowed_host("a.amocrm.ru", {}).has_value());
  BOOST_TEST(!allowed_host("a.amocrm.ru", {""}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metrics_text)

BOOST_AUTO_TEST_CASE(counters_and_histograms_are_exact) {
  amo::Metrics m;
  m.request("/status", "GET", 200, 0.001);  // on a bucket's bound: counted in it
  m.request("/status", "GET", 200, 0.0011);
  m.request("/status", "GET", 503, 3.0);
  m.request("unknown", "other", 404, 20.0);  // above every bucket: only +Inf
  m.amo_call("api/v4/leads", 200, 0.2);
  m.amo_call("api/v4/leads", 200, 0.3);
  m.amo_call("api/v4/leads", 0, 10.0);
  m.refresh("ok");
  m.refresh("ok");
  m.refresh("rejected");
  m.begin_request();
  std::string out = m.render([](std::string& o) { o += "extra_gauge 5\n"; });
  m.end_request();
  BOOST_TEST_INFO("render():\n" << out);
  for (const char* line : {
           "\namo_http_requests_total{route=\"/status\",method=\"GET\",status=\"200\"} 2\n",
           "\namo_http_requests_total{route=\"/status\",method=\"GET\",status=\"503\"} 1\n",
           "\namo_http_requests_total{route=\"unknown\",method=\"other\",status=\"404\"} 1\n",
           "\namo_http_request_duration_seconds_bucket{route=\"/status\",le=\"0.001\"} 1\n",
           "\namo_http_request_duration_seconds_bucket{route=\"/status\",le=\"0.0025\"} 2\n",
           "\namo_http_request_duration_seconds_bucket{route=\"/status\",le=\"2.5\"} 2\n",
           "\namo_http_request_duration_seconds_bucket{route=\"/status\",le=\"10\"} 3\n",
           "\namo_http_request_duration_seconds_bucket{route=\"/status\",le=\"+Inf\"} 3\n",
           "\namo_http_request_duration_seconds_count{route=\"/status\"} 3\n",
           "\namo_http_request_duration_seconds_sum{route=\"/status\"} 3.0021\n",
           "\namo_http_request_duration_seconds_bucket{route=\"unknown\",le=\"10\"} 0\n",
           "\namo_http_request_duration_seconds_bucket{route=\"unknown\",le=\"+Inf\"} 1\n",
           "\namo_upstream_requests_total{endpoint=\"api/v4/leads\",status=\"200\"} 2\n",
           "\namo_upstream_requests_total{endpoint=\"api/v4/leads\",status=\"0\"} 1\n",
           "\namo_upstream_request_duration_seconds_bucket{endpoint=\"api/v4/leads\",le=\"0.25\"} "
           "1\n",
           "\namo_upstream_request_duration_seconds_count{endpoint=\"api/v4/leads\"} 3\n",
           "\namo_token_refreshes_total{outcome=\"ok\"} 2\n",
           "\namo_token_refreshes_total{outcome=\"rejected\"} 1\n",
           "\namo_http_requests_in_flight 1\n",
           "\n# TYPE amo_http_requests_total counter\n",
           "\n# TYPE amo_http_request_duration_seconds histogram\n",
           "\nextra_gauge 5\n",
       })
    BOOST_TEST(contains(out, line), line);
  BOOST_TEST(out.rfind("# HELP amo_build_info ", 0) == 0);
  BOOST_TEST(contains(m.render(), "\namo_http_requests_in_flight 0\n"));
}

BOOST_AUTO_TEST_SUITE_END()
