// Edges of pure rules (test_core.cpp and test_amo.cpp hold the main cases): UTF-8 at the
// exact bounds of each sequence length, host names and the referer label boundary, and the
// process metrics' exact text.
#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/metrics.hpp"
#include "core/host.hpp"
#include "core/text.hpp"

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

BOOST_AUTO_TEST_SUITE(core_text_edges)

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

BOOST_AUTO_TEST_CASE(sequence_lengths_and_cuts) {
  using amo::core::clean_text;
  BOOST_TEST(amo::core::utf8_sequence(bytes({0xE0, 0xA0, 0x80}), 0) == 3u);
  BOOST_TEST(amo::core::utf8_sequence(bytes({0x41, 0xF0, 0x90, 0x80, 0x80}), 1) == 4u);
  BOOST_TEST(amo::core::utf8_sequence(bytes({0xF0, 0x90, 0x80}), 0) == 0u);
  BOOST_TEST(amo::core::code_points(bytes({0xF4, 0x8F, 0xBF, 0xBF, 0x41})).value_or(99) == 2u);
  // Control characters go (carriage return too), tab and newline stay; the cut counts
  // code points and never splits one.
  static const char kMixed[] = "a\0b\x01\x1F\x7F\tc\nd\re";
  BOOST_TEST(clean_text(std::string(kMixed, sizeof kMixed - 1), 100) == "ab\tc\nde");
  BOOST_TEST(clean_text("Квартира", 3) == "Ква");
  BOOST_TEST(clean_text("abc", 0) == "");
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
